from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.programme import Organisation, Person, Programme


class Placement(Base):
    """One person's stay with a host organisation; the ORM row is the state machine's model."""

    __tablename__ = "placement"
    __table_args__ = (
        UniqueConstraint(
            "programme_id",
            "participant_id",
            "host_organisation_id",
            "start_date",
            name="uq_placement_same_proposal",
        ),
        CheckConstraint("extent_percent BETWEEN 1 AND 100", name="extent_range"),
        CheckConstraint("end_date > start_date", name="end_after_start"),
        Index("ix_placement_state_programme", "state", "programme_id"),
        # The sweep's date bounds, each behind the state it applies in: a sweep with nothing
        # due reads the index range that can be due, not every placement in that state.
        Index("ix_placement_state_start", "state", "start_date"),
        Index("ix_placement_state_end", "state", "end_date"),
        Index("ix_placement_state_evaluation_due", "state", "evaluation_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    direction: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    home_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    home_manager_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    host_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    host_contact_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)

    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    extent_percent: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    development_plan: Mapped[str] = mapped_column(Text, default="")
    value_for_home: Mapped[str] = mapped_column(Text)
    value_for_host: Mapped[str] = mapped_column(Text)
    student_involvement: Mapped[str] = mapped_column(Text, default="")
    funding_sek: Mapped[int] = mapped_column(Integer, default=0)

    approval_round: Mapped[int] = mapped_column(Integer, default=0)
    agreement_version: Mapped[int] = mapped_column(Integer, default=0)
    evaluation_due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    programme: Mapped[Programme] = relationship(lazy="raise")
    participant: Mapped[Person] = relationship(foreign_keys=[participant_id], lazy="raise")
    home_manager: Mapped[Person] = relationship(foreign_keys=[home_manager_id], lazy="raise")
    host_contact: Mapped[Person] = relationship(foreign_keys=[host_contact_id], lazy="raise")
    home_organisation: Mapped[Organisation] = relationship(
        foreign_keys=[home_organisation_id], lazy="raise"
    )
    host_organisation: Mapped[Organisation] = relationship(
        foreign_keys=[host_organisation_id], lazy="raise"
    )
    approvals: Mapped[list[Approval]] = relationship(
        back_populates="placement", lazy="raise", order_by="Approval.id"
    )
    acceptances: Mapped[list[AgreementAcceptance]] = relationship(
        lazy="raise", order_by="AgreementAcceptance.id"
    )
    responses: Mapped[list[EvaluationResponse]] = relationship(
        lazy="raise", order_by="EvaluationResponse.id"
    )

    def person_for_role(self, role: str) -> Person:
        """The person who holds ``role`` for this placement (relationships must be loaded)."""
        if role == "coordinator":
            return self.programme.coordinator
        people = {
            "participant": self.participant,
            "home_manager": self.home_manager,
            "host_contact": self.host_contact,
        }
        return people[role]


DAY_ZERO = date(2000, 1, 1)
"""Where PostgreSQL's day numbers of ``period_days`` count from (any fixed day would do)."""


def period_days(dialect: str) -> ColumnElement[Any]:
    """The first and the last day of a placement as day numbers, added: the placement is past
    its midpoint once this is at most twice today's number. Indexed behind the state (one
    index per dialect, their date arithmetic differs), so the check-in query reads only the
    placements past their midpoint."""
    if dialect == "sqlite":
        return func.julianday(Placement.start_date) + func.julianday(Placement.end_date)
    zero = literal_column(f"DATE '{DAY_ZERO.isoformat()}'", Date)
    return (Placement.start_date - zero) + (Placement.end_date - zero)


Index("ix_placement_state_period_sqlite", Placement.state, period_days("sqlite")).ddl_if(
    dialect="sqlite"
)
Index("ix_placement_state_period_pg", Placement.state, period_days("postgresql")).ddl_if(
    dialect="postgresql"
)


class ReferenceCounter(Base):
    """Hands out readable references (PL-2027-0001) without gaps under concurrency."""

    __tablename__ = "reference_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Approval(Base):
    """One approver's decision in one round (a request for changes starts a new round)."""

    __tablename__ = "approval"
    __table_args__ = (UniqueConstraint("placement_id", "round", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    via: Mapped[str | None] = mapped_column(String(10))

    placement: Mapped[Placement] = relationship(back_populates="approvals", lazy="raise")
    # The people of a step are the placement's own, already in the identity map when the
    # placement is loaded: a many-to-one by key is served from there without any SQL.
    person: Mapped[Person] = relationship(lazy="raise_on_sql")


class AgreementDocument(Base):
    """One rendered version of a placement's agreement; parties accept a version, not a text."""

    __tablename__ = "agreement_document"
    __table_args__ = (UniqueConstraint("placement_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(2))
    sha256: Mapped[str] = mapped_column(String(64))
    content_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    final_at: Mapped[datetime | None]


class AgreementAcceptance(Base):
    """A party's acceptance of one agreement version; void once the terms change."""

    __tablename__ = "agreement_acceptance"
    __table_args__ = (UniqueConstraint("document_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("agreement_document.id"))
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("action_token.id"))
    via: Mapped[str | None] = mapped_column(String(10))
    voided_at: Mapped[datetime | None]

    document: Mapped[AgreementDocument] = relationship(lazy="raise")
    # The people of a step are the placement's own, already in the identity map when the
    # placement is loaded: a many-to-one by key is served from there without any SQL.
    person: Mapped[Person] = relationship(lazy="raise_on_sql")


class EvaluationResponse(Base):
    """A requested evaluation (after the end) or check-in (midway), and its answers."""

    __tablename__ = "evaluation_response"
    __table_args__ = (UniqueConstraint("placement_id", "kind", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    answers: Mapped[dict[str, Any] | None]
    via: Mapped[str | None] = mapped_column(String(10))

    # The people of a step are the placement's own, already in the identity map when the
    # placement is loaded: a many-to-one by key is served from there without any SQL.
    person: Mapped[Person] = relationship(lazy="raise_on_sql")


class HistoryEntry(Base):
    """Append-only: one row per event applied to a placement."""

    __tablename__ = "history"
    __table_args__ = (UniqueConstraint("placement_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[dict[str, Any] | None]
    """What a revision or amendment changed of the figures: ``{"funding_sek": [old, new]}``
    (start, end, extent and funding; no free text), so a report as of an earlier day can
    tell the terms as they were."""
    at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)


class ReminderLog(Base):
    """Every reminder and escalation sent; its unique key makes the sweep idempotent."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("placement_id", "step", "person_id", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
