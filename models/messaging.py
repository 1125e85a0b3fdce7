from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ActionToken(Base):
    """A link's secret, bound to one person and one step; only its hash is looked up.

    The raw token is HMAC(secret key, nonce), so the database alone cannot rebuild a link.
    """

    __tablename__ = "action_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(32))
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class OutboxMessage(Base):
    """An email to send. Written in the transaction that causes it; delivered afterwards."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placement.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("action_token.id"))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_expires_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(300))
    rendered: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The message as first rendered for sending, its link a placeholder (never the raw
    token), kept while it waits for a retry (``notifications.prerendered``); cleared once the
    message is sent, dead or cancelled."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
