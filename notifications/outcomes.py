"""What became of each claimed outbox row, written as soon as it is known, and counted.

Per reply: 2xx sent; 4xx, refused or dropped connection: retried with exponential backoff and
jitter until ``delivery_give_up_hours`` after queueing, then dead; 5xx: dead after one attempt,
with the server's reply kept in ``last_error``; a link that can no longer act: cancelled, with
the reason. A row that cannot become an email, or that needs SMTPUTF8 from a server without
it, is dead; anything unforeseen while rendering or sending one row is retried with its error
recorded and logged once: it ends that row's attempt, never the run.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import BindParameter, Connection, Engine, Table, Update, bindparam, case, update
from sqlalchemy.exc import DBAPIError

from models import OutboxMessage
from states.unit_of_work import ConnectionUnitOfWork

if TYPE_CHECKING:
    from config import Settings

log = logging.getLogger(__name__)

OUTBOX = cast(Table, OutboxMessage.__table__)

T = TypeVar("T")

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
GATHER_SECONDS = 0.003
"""How long a sent mark waits at most for the marks of the other connections' messages in
flight (a slow server's reply must not hold up the rest for long)."""


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
    stopped_early: bool = False
    """The run's time was up before the outbox was: more may be due."""

    def counts(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "cancelled": self.cancelled,
        }


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
    rendered: bytes | None = None
    """The message with the placeholder for its link, kept for a retry (None: nothing to keep,
    or it could not be kept without the raw token)."""


def _record(
    units: Callable[[], ConnectionUnitOfWork], row_id: int, worker_id: str, **values: Any
) -> bool:
    """Record an outcome if we still hold the claim; False if another sender took the row."""
    statement = _outcome_statement(tuple(sorted(values)))
    parameters = {"row_id": row_id, "worker_id": worker_id, **values}
    return _written(
        units,
        lambda connection: connection.execute(statement, parameters).rowcount == 1,
        what=str(row_id),
    )


def _written(
    units: Callable[[], ConnectionUnitOfWork], write: Callable[[Connection], T], *, what: str
) -> T:
    """``write`` in a unit of its own. A connection the database dropped (a restart,
    ``pg_terminate_backend``) is replaced and the write made once more: the server has already
    accepted a message marked sent here, and a lost mark would send it again."""
    try:
        return _in_unit(units(), write)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning("outbox %s: the database connection was lost; recording again", what)
    return _in_unit(units(), write)


def _in_unit(unit: ConnectionUnitOfWork, write: Callable[[Connection], T]) -> T:
    with unit as uow:
        result = write(uow.connection)
        uow.commit()
        return result


@lru_cache(maxsize=32)
def _outcome_statement(columns: tuple[str, ...]) -> Update:
    """One statement per kind of outcome, built once (building it cost more than running it)."""
    return (
        update(OUTBOX)
        .where(
            OUTBOX.c.id == bindparam("row_id"),
            OUTBOX.c.status == "sending",
            OUTBOX.c.claimed_by == bindparam("worker_id"),
        )
        .values(lease_expires_at=None, **{column: bindparam(column) for column in columns})
    )


@lru_cache(maxsize=32)
def _sent_statement(size: int) -> Update:
    """The sent marks of ``size`` rows in one statement, returning the rows that were still
    ours. ``attempts`` counts up in place: while we hold the claim, nobody else changes it."""
    ids: list[BindParameter[int]] = [bindparam(f"id_{n}") for n in range(size)]
    return (
        update(OUTBOX)
        .where(
            OUTBOX.c.id.in_(ids),
            OUTBOX.c.status == "sending",
            OUTBOX.c.claimed_by == bindparam("worker_id"),
        )
        .values(
            status="sent",
            sent_at=bindparam("now"),
            attempts=OUTBOX.c.attempts + 1,
            subject=case(
                *(
                    (OUTBOX.c.id == row_id, bindparam(f"subject_{n}"))
                    for n, row_id in enumerate(ids)
                ),
                else_=OUTBOX.c.subject,
            ),
            last_error=None,
            claimed_by=None,
            rendered=None,
            lease_expires_at=None,
        )
        .returning(OUTBOX.c.id)
    )


def _mark_sent(
    connection: Connection, items: Sequence[Prepared], worker_id: str, now: datetime
) -> set[int]:
    parameters: dict[str, Any] = {"worker_id": worker_id, "now": now}
    for n, item in enumerate(items):
        parameters[f"id_{n}"] = item.id
        parameters[f"subject_{n}"] = item.subject[:300]
    return set(connection.execute(_sent_statement(len(items)), parameters).scalars())


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: half the step fixed, half random, capped."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    jitter: float = (rng or random.Random()).uniform(0, 0.5)
    return timedelta(seconds=step.total_seconds() * (0.5 + jitter))


class Outcomes:
    """Writes each row's outcome as soon as it is known, each in a transaction of its own, and
    counts them. It holds one connection for the run (``close()`` returns it): checking one
    out of the pool for every outcome cost a ping and the pool's bookkeeping per message.

    An outcome is one UPDATE, atomic on its own, so the held connection runs in autocommit:
    on PostgreSQL one round trip per message instead of three (BEGIN, UPDATE, COMMIT), and the
    event loop that sends the mail waits on each of them. A connection opened again after the
    database dropped one is not in autocommit; the unit's commit still ends its transaction."""

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
        self._connection: Connection | None = None
        self._marks: list[Prepared] = []
        self._settling: asyncio.Future[None] | None = None
        # SQLite in WAL with synchronous=NORMAL does not wait for the disk at commit: a mark
        # of its own costs what a share of a joint one does, and waiting would only add.
        self._gather = 0.0 if engine.dialect.name == "sqlite" else GATHER_SECONDS

    def _unit(self) -> ConnectionUnitOfWork:
        """A transaction on the held connection. One the database dropped is rolled back by
        the failed unit, and SQLAlchemy then opens a new one on the next ``begin``."""
        if self._connection is None:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return ConnectionUnitOfWork(self.engine, connection=self._connection)

    def close(self) -> None:
        """Write any marks still queued (a run ending on an error), then return the
        connection. A mark that cannot be written leaves its row to the lease: the message
        goes again after the lease runs out."""
        try:
            self.write_marks()
        except Exception as error:
            log.error(
                "outbox: sent marks could not be written: %s: %s", type(error).__name__, error
            )
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def sent(self, item: Prepared) -> None:
        """The server took the message. Its mark is written by ``settle``, together with the
        marks the other connections queue meanwhile, before this connection sends again."""
        self._marks.append(item)

    async def settle(self, *, connections: int = 1) -> None:
        """Write the sent marks queued so far in one statement, together with those of the
        other ``connections`` (their messages in flight), waiting for them at most
        ``GATHER_SECONDS``: on PostgreSQL one commit, and one wait for the disk, for several
        messages. A connection awaits this before it sends its next message, so at most one
        message per connection is ever sent and not yet marked, as when each mark was written
        on its own."""
        if not self._marks:
            return
        if not self._gather:
            self.write_marks()
            return
        if self._settling is None:
            self._settling = asyncio.ensure_future(self._settle_soon(connections))
        await asyncio.shield(self._settling)

    async def _settle_soon(self, connections: int) -> None:
        loop = asyncio.get_running_loop()
        ends = loop.time() + self._gather
        try:
            await asyncio.sleep(0)  # a reply that has arrived is read in this turn
            while len(self._marks) < connections and loop.time() < ends:
                await asyncio.sleep(self._gather / 10)
        finally:
            self._settling = None
        self.write_marks()

    def write_marks(self) -> None:
        marks, self._marks = self._marks, []
        if not marks:
            return
        won = _written(
            self._unit,
            lambda connection: _mark_sent(connection, marks, self.worker_id, self.now),
            what=", ".join(str(item.id) for item in marks),
        )
        for item in marks:
            if item.id in won:
                self.report.sent += 1
                self.report.sent_ids.append(item.id)
            else:
                self._lost(item.id)

    def dead(self, row_id: int, attempts: int, error: str) -> None:
        if self._record(
            row_id, status="dead", attempts=attempts, last_error=error[:2000], rendered=None
        ):
            self.report.dead += 1
            self.report.dead_ids.append(row_id)

    def cancelled(self, row_id: int, reason: str) -> None:
        if self._record(row_id, status="cancelled", last_error=reason[:2000], rendered=None):
            self.report.cancelled += 1
            self.report.cancelled_ids.append(row_id)

    def retry(self, item: Claimed, error: str) -> None:
        attempts = item.attempts + 1
        deadline = item.created_at + self.give_up
        if self.now >= deadline:
            self.dead(item.id, attempts, f"gave up after {attempts} attempts: {error}")
            return
        next_at = min(self.now + backoff(attempts), deadline)
        # The next attempt sends the message as rendered now, its link spliced in afresh.
        kept = {"rendered": item.rendered} if isinstance(item, Prepared) and item.rendered else {}
        if self._record(
            item.id,
            status="pending",
            attempts=attempts,
            next_attempt_at=next_at,
            last_error=error[:2000],
            claimed_by=None,
            **kept,
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
        if _record(self._unit, row_id, self.worker_id, **values):
            return True
        self._lost(row_id)
        return False

    def _lost(self, row_id: int) -> None:
        self.report.lost_claims += 1
        log.warning("outbox %s: lease lost before its outcome was recorded", row_id)
