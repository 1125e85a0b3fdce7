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


def list_outbox(
    uow: UnitOfWork,
    *,
    state: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 500,
) -> list[OutboxRow]:
    """The newest messages first (of ``state``, and among ``ids``, if given)."""
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
            )
            for m, reference in uow.session.execute(query).all()
        ]


@dataclass(frozen=True)
class Requeued:
    id: int
    kind: str
    to_email: str


def requeue_dead(uow: UnitOfWork, *, outbox_id: int, now: datetime) -> Requeued:
    """Put a dead message back in the queue, due now, with a fresh give-up window; commits."""
    with uow:
        message = uow.session.get(OutboxMessage, outbox_id)
        if message is None:
            raise NotFound(f"no outbox message {outbox_id}")
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
