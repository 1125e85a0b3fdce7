from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class Person(Base):
    """Anyone the process writes to: participants, managers, host contacts, coordinators."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    anonymised_at: Mapped[datetime | None]


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Programme(Base):
    """A mobility programme: its rules for approvals, agreement, reminders and evaluation."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    direction: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(2))
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    coordinator_emails: Mapped[list[str]] = mapped_column(default=list)
    """Who else coordinates it on the board, by email (the coordinator always does)."""
    coordinator_groups: Mapped[list[str]] = mapped_column(default=list)
    """…and by a group value in the identity provider's groups claim."""
    budget_sek: Mapped[int] = mapped_column(Integer, default=0)
    approval_roles: Mapped[list[str]]
    agreement_template: Mapped[str] = mapped_column(String(300))
    agreement_parties: Mapped[list[str]]
    agreement_binding_language: Mapped[str | None] = mapped_column(String(2))
    """The language whose agreement text applies (None: the programme's language)."""
    reminder_first_after: Mapped[int]
    reminder_repeat_every: Mapped[int]
    escalate_after: Mapped[int]
    evaluation_respondents: Mapped[list[str]]
    evaluation_due_after: Mapped[int]
    evaluation_questions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    start_notice_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    """Business days before the start the start notice goes out; 0: no start notice."""
    welcome_on_start: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A welcome to the participant on the first day, besides the start notice."""
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    coordinator: Mapped[Person] = relationship(lazy="raise")
