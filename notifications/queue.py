"""The email queue for people: list it, and put a dead message back (``mobility outbox``).
Each call is one unit of work: the listing reads, the requeue commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from models import OutboxMessage, Placement
from states.errors import MobilityError, NotFound
from states.unit_of_work import UnitOfWork

STATUSES = ("pending", "sending", "sent", "dead", "cancelled")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    status: str
    kind: str
    to: str
    language: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    reference: str | None
    message_id: str
    subject: str | None = None
    """Set once rendered (at delivery)."""
    created_at: datetime | None = None


def list_outbox(
    uow: UnitOfWork,
    *,
    state: str | None = None,
    reference: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 500,
) -> list[OutboxRow]:
    """The newest messages first (of ``state``, of the placement ``reference``, and among
    ``ids``, if given)."""
    if state is not None and state not in STATUSES:
        raise MobilityError(f"unknown outbox state {state!r}; use one of {', '.join(STATUSES)}")
    query = (
        select(OutboxMessage, Placement.reference)
        .outerjoin(Placement, Placement.id == OutboxMessage.placement_id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(OutboxMessage.status == state)
    if reference is not None:
        query = query.where(Placement.reference == reference)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    with uow:
        return [
            OutboxRow(
                id=m.id,
                status=m.status,
                kind=m.kind,
                to=m.to_email,
                language=m.language,
                attempts=m.attempts,
                next_attempt_at=m.next_attempt_at,
                sent_at=m.sent_at,
                last_error=m.last_error,
                reference=reference,
                message_id=m.message_id,
                subject=m.subject,
                created_at=m.created_at,
            )
            for m, reference in uow.session.execute(query).all()
        ]


@dataclass(frozen=True)
class Requeued:
    id: int
    kind: str
    to_email: str


def requeue_dead(
    uow: UnitOfWork, *, outbox_id: int, now: datetime, reference: str | None = None
) -> Requeued:
    """Put a dead message back in the queue, due now, with a fresh give-up window; commits.
    ``reference``: only a message about that placement (the board acts placement by placement)."""
    with uow:
        message = uow.session.get(OutboxMessage, outbox_id)
        if message is not None and reference is not None:
            about = (
                uow.session.get(Placement, message.placement_id) if message.placement_id else None
            )
            if about is None or about.reference != reference:
                message = None
        if message is None:
            where = f" about {reference}" if reference is not None else ""
            raise NotFound(f"no outbox message {outbox_id}{where}")
        if message.status != "dead":
            raise MobilityError(
                f"outbox message {outbox_id} is {message.status}, not dead; "
                "only dead ones are retried"
            )
        message.status = "pending"
        message.attempts = 0
        message.next_attempt_at = now
        # The give-up window counts from queueing; a person's retry starts a new window.
        message.created_at = now
        message.claimed_by = None
        message.lease_expires_at = None
        requeued = Requeued(message.id, message.kind, message.to_email)
        uow.commit()
    return requeued
