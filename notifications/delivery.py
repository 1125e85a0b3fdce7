"""Deliver the outbox: claim due rows with a lease, render them, send them over SMTP, record.

Exactly-once as far as SMTP allows: a row is claimed atomically (PostgreSQL ``FOR UPDATE SKIP
LOCKED``; SQLite one ``UPDATE … RETURNING`` under its write lock), marked sent right after the
server accepted it, and keeps the Message-ID fixed when it was queued, so a retry is the same
message. Only a sender that dies between the server's "250" and that mark can cause a
duplicate; its rows come back after the lease. What each outcome means:
``notifications.outcomes``; the conversation with the server: ``notifications.smtp``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session

from models import ActionToken, OutboxMessage
from notifications.outcomes import OUTBOX, Claimed, DeliveryReport, Outcomes, Prepared
from notifications.smtp import SmtpTarget, send_all
from states.errors import MobilityError, NotFound

if TYPE_CHECKING:
    from config import Settings
    from states.unit_of_work import ServiceConfig

log = logging.getLogger(__name__)

STATUSES = ("pending", "sending", "sent", "dead", "cancelled")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- claiming -------------------------------------------------------------------------------


def claim_due(
    engine: Engine, *, now: datetime, limit: int, worker_id: str, lease: timedelta
) -> list[int]:
    """Atomically take up to ``limit`` due rows (or rows whose sender's lease ran out)."""
    due = (
        select(OUTBOX.c.id)
        .where(
            or_(
                and_(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now),
                and_(OUTBOX.c.status == "sending", OUTBOX.c.lease_expires_at <= now),
            )
        )
        .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
        .limit(limit)
    )
    if engine.dialect.name != "sqlite":
        # Two senders never wait for each other's rows, and never take the same row.
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_by=worker_id, lease_expires_at=now + lease)
        .returning(OUTBOX.c.id)
    )
    with engine.begin() as connection:
        return sorted(connection.execute(claim).scalars().all())


# --- rendering ------------------------------------------------------------------------------


class Renderer:
    """Renders claimed rows just before they are sent (so nothing is rendered while the relay
    is unreachable); a row whose link died is cancelled, one that cannot be rendered is dead."""

    def __init__(
        self,
        session: Session,
        *,
        settings: Settings,
        config: ServiceConfig,
        now: datetime,
        outcomes: Outcomes,
    ) -> None:
        from notifications.render import sender_address

        self.session = session
        self.settings = settings
        self.config = config
        self.now = now
        self.outcomes = outcomes
        self.sender = sender_address(settings.mail_from).addr_spec
        self.rows: dict[int, OutboxMessage] = {}

    def load(self, ids: Sequence[int]) -> list[Claimed]:
        rows = self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
        ).all()
        self.rows.update((row.id, row) for row in rows)
        return [Claimed(row.id, row.attempts, row.created_at) for row in rows]

    def prepare(self, claimed: Claimed) -> Prepared | None:
        """The row ready for the wire, or None with its outcome recorded: cancelled (its link
        died), dead (it cannot become an email) or retried (anything unforeseen)."""
        try:
            return self._prepare_reconnecting(self.rows[claimed.id])
        except MobilityError as error:
            self.outcomes.dead(claimed.id, claimed.attempts, f"cannot render: {error}")
        except Exception as error:  # one bad row must not stop the batch
            self.outcomes.unexpected(claimed, "rendering", error)
        return None

    def _prepare_reconnecting(self, row: OutboxMessage) -> Prepared | None:
        """A connection the database dropped mid-batch (a restart, ``pg_terminate_backend``)
        is replaced once — the rollback hands the session a new one from the pool — instead
        of failing every row left in the batch."""
        try:
            return self._prepare(row)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        except PendingRollbackError:
            pass
        log.warning("outbox %s: the database connection was lost; reading again", row.id)
        self.session.rollback()
        return self._prepare(row)

    def _prepare(self, row: OutboxMessage) -> Prepared | None:
        from notifications.render import render_message
        from states.links import link_status

        if row.token_id is not None:
            token = self.session.get(ActionToken, row.token_id)
            reason = (
                link_status(self.session, token, now=self.now).reason
                if token is not None
                else "token missing"
            )
            if reason is not None:
                self.outcomes.cancelled(row.id, f"link no longer live: {reason}")
                return None
        email = render_message(
            self.session,
            row,
            minter=self.config.minter,
            base_url=self.settings.base_url,
            mail_from=self.settings.mail_from,
            timezone=self.config.timezone,
        )
        utf8 = smtputf8_addresses(email)
        return Prepared(
            id=row.id,
            attempts=row.attempts,
            created_at=row.created_at,
            sender=self.sender,
            # The envelope says what the header says: the domain in its ASCII form.
            recipient=email["To"].addresses[0].addr_spec,
            # UTF-8 headers (RFC 6532) only when an address needs them; else plain ASCII.
            data=email.as_bytes(policy=SMTPUTF8_POLICY if utf8 else SMTP_POLICY),
            subject=str(email["Subject"]),
            smtputf8=utf8,
        )


def smtputf8_addresses(email: EmailMessage) -> tuple[str, ...]:
    """The addresses of the message's address headers whose local part is not ASCII."""
    return tuple(
        address.addr_spec
        for name in ("From", "To", "Reply-To")
        if email[name] is not None
        for address in email[name].addresses
        if not address.username.isascii()
    )


# --- the entry points -----------------------------------------------------------------------


async def deliver_due(
    *,
    engine: Engine,
    settings: Settings,
    config: ServiceConfig,
    now: datetime | None = None,
    limit: int | None = None,
    worker_id: str | None = None,
    target: SmtpTarget | None = None,
) -> DeliveryReport:
    """Send what is due at ``now``, batch after batch, up to ``limit`` rows in all.

    Without ``now`` each batch reads the clock afresh, so a long run never claims rows with a
    lease that already ran out; tests pass ``now`` and move it forward instead of sleeping.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    worker_id = worker_id or default_worker_id()
    target = target or SmtpTarget.from_settings(settings)
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    report = DeliveryReport()
    outcomes = Outcomes(engine, settings, worker_id, now or datetime.now(UTC), report)
    remaining = limit
    while remaining is None or remaining > 0:
        batch_now = now or datetime.now(UTC)
        outcomes.now = batch_now
        size = (
            settings.delivery_batch_size
            if remaining is None
            else min(remaining, settings.delivery_batch_size)
        )
        ids = claim_due(engine, now=batch_now, limit=size, worker_id=worker_id, lease=lease)
        if not ids:
            break
        report.claimed += len(ids)
        if remaining is not None:
            remaining -= len(ids)
        # One read snapshot per batch; outcomes are written on other connections meanwhile.
        with Session(engine.execution_options(sqlite_begin="DEFERRED")) as session:
            renderer = Renderer(
                session, settings=settings, config=config, now=batch_now, outcomes=outcomes
            )
            items = renderer.load(ids)
            keeper = asyncio.create_task(
                _keep_lease(engine, ids, worker_id=worker_id, lease=lease, since=batch_now)
            )
            try:
                await send_all(
                    items,
                    target,
                    settings.delivery_parallel_connections,
                    outcomes,
                    renderer.prepare,
                )
            finally:
                keeper.cancel()
    return report


async def _keep_lease(
    engine: Engine, ids: Sequence[int], *, worker_id: str, lease: timedelta, since: datetime
) -> None:
    """Renew the lease on the rows this sender still holds while it is alive, so a slow relay
    never lets another sender take (and send again) the tail of a live batch."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        until = since + timedelta(seconds=time.monotonic() - started) + lease
        try:
            with engine.begin() as connection:
                connection.execute(
                    update(OUTBOX)
                    .where(
                        OUTBOX.c.id.in_(ids),
                        OUTBOX.c.status == "sending",
                        OUTBOX.c.claimed_by == worker_id,
                    )
                    .values(lease_expires_at=until)
                )
        except Exception as error:  # a missed renewal only shortens the lease; keep trying
            log.warning(
                "outbox: the lease could not be renewed: %s: %s", type(error).__name__, error
            )


def deliver_due_sync(**kwargs: Any) -> DeliveryReport:
    """``deliver_due`` for synchronous callers (the CLI, sync Prefect tasks). Called where an
    event loop already runs in this thread (Playwright's sync API, notebooks), it runs in a
    thread of its own instead of failing."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(deliver_due(**kwargs))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, deliver_due(**kwargs)).result()


# --- the queue for people -------------------------------------------------------------------


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


def list_outbox(session: Session, *, state: str | None = None, limit: int = 500) -> list[OutboxRow]:
    from models import Placement

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
        for m, reference in session.execute(query).all()
    ]


def requeue_dead(session: Session, *, outbox_id: int, now: datetime) -> OutboxMessage:
    """Put a dead message back in the queue, due now, with a fresh give-up window."""
    message = session.get(OutboxMessage, outbox_id)
    if message is None:
        raise NotFound(f"no outbox message {outbox_id}")
    if message.status != "dead":
        raise MobilityError(
            f"outbox message {outbox_id} is {message.status}, not dead; only dead ones are retried"
        )
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = now
    # The give-up window counts from queueing; a person's retry starts a new window.
    message.created_at = now
    message.claimed_by = None
    message.lease_expires_at = None
    return message
