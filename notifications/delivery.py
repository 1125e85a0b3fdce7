"""Deliver the outbox: claim due rows with a lease, render them, send them over SMTP, record.

Exactly-once as far as SMTP allows: a row is claimed atomically (PostgreSQL ``FOR UPDATE SKIP
LOCKED``; SQLite one ``UPDATE … RETURNING`` under its write lock), marked sent right after the
server accepted it, and keeps the Message-ID fixed when it was queued, so a retry is the same
message. Only a sender that dies between the server's "250" and that mark can cause a
duplicate; its rows come back after the lease.

Outcomes, per reply: 2xx sent; 4xx, refused or dropped connection: retried with exponential
backoff and jitter until ``delivery_give_up_hours`` after queueing, then dead; 5xx: dead after
one attempt, with the server's reply kept in ``last_error``; a link that can no longer act:
cancelled, with the reason. A row that cannot become an email, or that needs SMTPUTF8 from a
server without it, is dead; anything unforeseen while rendering or sending one row is retried
with its error recorded and logged once: it ends that row's attempt, never the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from typing import TYPE_CHECKING, Any, cast

import aiosmtplib
from sqlalchemy import Engine, Table, and_, or_, select, update
from sqlalchemy.orm import Session

from models import ActionToken, OutboxMessage
from states.errors import MobilityError, NotFound

if TYPE_CHECKING:
    from config import Settings
    from states.unit_of_work import ServiceConfig

log = logging.getLogger(__name__)

OUTBOX = cast(Table, OutboxMessage.__table__)
STATUSES = ("pending", "sending", "sent", "dead", "cancelled")

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)

# Failures that say nothing about the message itself: try again later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)
# What can go wrong while opening or closing a connection.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, aiosmtplib.SMTPException)
# Failures that say the message cannot go out this way, now or later.
MESSAGE_ERRORS: tuple[type[BaseException], ...] = (aiosmtplib.SMTPNotSupported, UnicodeError)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    sent_ids: list[int] = field(default_factory=list)
    retried_ids: list[int] = field(default_factory=list)
    dead_ids: list[int] = field(default_factory=list)
    cancelled_ids: list[int] = field(default_factory=list)
    lost_claims: int = 0
    """Rows whose lease ran out and that another sender took over before we recorded them."""

    def counts(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTarget:
        """The configured relay, or the local catcher when no SMTP host is set."""
        if settings.uses_mail_catcher:
            return cls(
                host="127.0.0.1", port=settings.catcher_port, timeout=settings.smtp_timeout_seconds
            )
        return cls(
            host=settings.smtp_host or "127.0.0.1",
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )


@dataclass(frozen=True)
class Claimed:
    """What the outcome of a claimed row depends on, whether or not it could be rendered."""

    id: int
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Prepared(Claimed):
    """A claimed row, rendered and flattened once, ready for the wire."""

    sender: str
    recipient: str
    data: bytes
    subject: str
    smtputf8: tuple[str, ...] = ()
    """The addresses with a non-ASCII local part: the message needs SMTPUTF8 (RFC 6531)."""


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


def _record(engine: Engine, row_id: int, worker_id: str, **values: Any) -> bool:
    """Record an outcome if we still hold the claim; False if another sender took the row."""
    with engine.begin() as connection:
        result = connection.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.id == row_id,
                OUTBOX.c.status == "sending",
                OUTBOX.c.claimed_by == worker_id,
            )
            .values(lease_expires_at=None, **values)
        )
        return result.rowcount == 1


# --- outcomes -------------------------------------------------------------------------------


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: half the step fixed, half random, capped."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    jitter: float = (rng or random.Random()).uniform(0, 0.5)
    return timedelta(seconds=step.total_seconds() * (0.5 + jitter))


class Outcomes:
    """Writes each row's outcome as soon as it is known, and counts them."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        worker_id: str,
        now: datetime,
        report: DeliveryReport,
    ) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.now = now
        self.report = report
        self.give_up = timedelta(hours=settings.delivery_give_up_hours)

    def sent(self, item: Prepared) -> None:
        if self._record(
            item.id,
            status="sent",
            sent_at=self.now,
            attempts=item.attempts + 1,
            subject=item.subject[:300],
            last_error=None,
            claimed_by=None,
        ):
            self.report.sent += 1
            self.report.sent_ids.append(item.id)

    def dead(self, row_id: int, attempts: int, error: str) -> None:
        if self._record(row_id, status="dead", attempts=attempts, last_error=error[:2000]):
            self.report.dead += 1
            self.report.dead_ids.append(row_id)

    def cancelled(self, row_id: int, reason: str) -> None:
        if self._record(row_id, status="cancelled", last_error=reason[:2000]):
            self.report.cancelled += 1
            self.report.cancelled_ids.append(row_id)

    def retry(self, item: Claimed, error: str) -> None:
        attempts = item.attempts + 1
        deadline = item.created_at + self.give_up
        if self.now >= deadline:
            self.dead(item.id, attempts, f"gave up after {attempts} attempts: {error}")
            return
        next_at = min(self.now + backoff(attempts), deadline)
        if self._record(
            item.id,
            status="pending",
            attempts=attempts,
            next_attempt_at=next_at,
            last_error=error[:2000],
            claimed_by=None,
        ):
            self.report.retried += 1
            self.report.retried_ids.append(item.id)

    def unexpected(self, item: Claimed, stage: str, error: Exception) -> None:
        """Anything unforeseen ends this row's attempt and is retried: a passing fault or a
        bug fixed in time lets the message go out, and the give-up window bounds it. Logged
        once, as one line; the traceback only with DEBUG logging."""
        reason = f"unexpected {type(error).__name__} while {stage}: {error}"
        log.error("outbox %s: %s (retried until it goes out or gives up)", item.id, reason)
        log.debug("outbox %s: the traceback", item.id, exc_info=error)
        self.retry(item, reason)

    def _record(self, row_id: int, **values: Any) -> bool:
        if _record(self.engine, row_id, self.worker_id, **values):
            return True
        self.report.lost_claims += 1
        log.warning("outbox %s: lease lost before its outcome was recorded", row_id)
        return False


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
            return self._prepare(self.rows[claimed.id])
        except MobilityError as error:
            self.outcomes.dead(claimed.id, claimed.attempts, f"cannot render: {error}")
        except Exception as error:  # one bad row must not stop the batch
            self.outcomes.unexpected(claimed, "rendering", error)
        return None

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


# --- sending --------------------------------------------------------------------------------


def _reply_text(code: int, message: str) -> str:
    return f"{code} {' '.join(str(message).split())}"


async def _connect(target: SmtpTarget) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        timeout=target.timeout,
        # Port 465 speaks TLS from the first byte (RFC 8314); elsewhere STARTTLS if configured.
        use_tls=target.port == 465,
        start_tls=target.starttls and target.port != 465,
        username=target.username,
        password=target.password,
    )
    await client.connect()
    if client.is_ehlo_or_helo_needed:
        # Now, so that what a message needs (SMTPUTF8) can be checked against what is offered.
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()
    return client


async def _send_one(client: aiosmtplib.SMTP, item: Prepared, outcomes: Outcomes) -> None:
    """Send one message on an open connection and record what the server said."""
    options: list[str] = []
    if item.smtputf8:
        if not client.supports_extension("smtputf8"):
            outcomes.dead(
                item.id,
                item.attempts + 1,
                f"{', '.join(item.smtputf8)}: an address with a non-ASCII local part needs "
                f"SMTPUTF8 (RFC 6531), and the mail server {client.hostname}:{client.port} "
                "does not offer it",
            )
            return
        options = ["SMTPUTF8"]
        if client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
    try:
        # The message is flattened once by us; sendmail sends those bytes as they are.
        refused, _reply = await client.sendmail(
            item.sender, [item.recipient], item.data, mail_options=options
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        replies = [
            (r.code, f"{r.recipient}: {_reply_text(r.code, r.message)}") for r in error.recipients
        ]
        _by_code(item, replies, outcomes)
        return
    except aiosmtplib.SMTPResponseException as error:
        _by_code(item, [(error.code, _reply_text(error.code, error.message))], outcomes)
        return
    if refused:
        # Partial refusal: the server took the message for some recipients but not all.
        replies = [
            (r.code, f"{addr}: {_reply_text(r.code, r.message)}") for addr, r in refused.items()
        ]
        _by_code(item, replies, outcomes)
        return
    outcomes.sent(item)


async def _attempt(client: aiosmtplib.SMTP, item: Prepared | None, outcomes: Outcomes) -> bool:
    """Send one prepared row (None: its outcome is already recorded). Whatever goes wrong ends
    this row's attempt with its outcome recorded, never the run; False when the connection
    must not carry the next message."""
    if item is None:
        return True
    try:
        await _send_one(client, item, outcomes)
    except TRANSIENT_ERRORS as error:
        outcomes.retry(item, f"connection lost: {type(error).__name__}: {error}")
    except MESSAGE_ERRORS as error:
        outcomes.dead(item.id, item.attempts + 1, f"cannot send: {type(error).__name__}: {error}")
    except Exception as error:
        outcomes.unexpected(item, "sending", error)
    else:
        return True
    return False


def _by_code(item: Prepared, replies: list[tuple[int, str]], outcomes: Outcomes) -> None:
    text = "; ".join(reply for _, reply in replies)
    if any(code >= 500 for code, _ in replies):
        outcomes.dead(item.id, item.attempts + 1, text)
    else:
        outcomes.retry(item, text)


async def _send_all(
    items: list[Claimed],
    target: SmtpTarget,
    connections: int,
    outcomes: Outcomes,
    prepare: Callable[[Claimed], Prepared | None],
) -> None:
    queue: asyncio.Queue[Claimed] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    connect_errors: list[str] = []

    async def worker() -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            while not queue.empty():
                claimed = queue.get_nowait()
                if client is None or not client.is_connected:
                    try:
                        client = await _connect(target)
                    except CONNECTION_ERRORS as error:
                        reason = f"cannot connect to {target.host}:{target.port}: {error}"
                        connect_errors.append(reason)
                        outcomes.retry(claimed, reason)
                        return  # this connection is done; what is left is released below
                if not await _attempt(client, prepare(claimed), outcomes):
                    client.close()  # in an unknown state: the next message starts afresh
        finally:
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except CONNECTION_ERRORS:
                    client.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(connections, len(items))))))
    while not queue.empty():  # every connection failed: the rest waits for the next run
        outcomes.retry(queue.get_nowait(), connect_errors[-1] if connect_errors else "not sent")


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
                await _send_all(
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
