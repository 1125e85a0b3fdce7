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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, or_, select, update

from notifications.outcomes import OUTBOX, DeliveryReport, Outcomes
from notifications.render import Renderer
from notifications.smtp import SmtpTarget, send_all
from states.unit_of_work import ConnectionUnitOfWork, UnitOfWork

if TYPE_CHECKING:
    from config import Settings
    from states.unit_of_work import ServiceConfig

log = logging.getLogger(__name__)


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
    with ConnectionUnitOfWork(engine) as uow:
        ids = sorted(uow.connection.execute(claim).scalars().all())
        uow.commit()
    return ids


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
    """Send what is due at ``now``, batch after batch, up to ``limit`` rows in all, and no new
    batch once ``delivery_run_seconds`` have passed (``report.stopped_early``: the caller says
    more is due, and the next run goes on).

    Without ``now`` each batch reads the clock afresh, so a long run never claims rows with a
    lease that already ran out; tests pass ``now`` and move it forward instead of sleeping.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    worker_id = worker_id or default_worker_id()
    target = target or SmtpTarget.from_settings(settings)
    report = DeliveryReport()
    outcomes = Outcomes(engine, settings, worker_id, now or datetime.now(UTC), report)
    try:
        await _deliver_batches(
            engine=engine,
            settings=settings,
            config=config,
            now=now,
            limit=limit,
            outcomes=outcomes,
            target=target,
        )
    finally:
        outcomes.close()
    return report


async def _deliver_batches(
    *,
    engine: Engine,
    settings: Settings,
    config: ServiceConfig,
    now: datetime | None,
    limit: int | None,
    outcomes: Outcomes,
    target: SmtpTarget,
) -> None:
    worker_id, report = outcomes.worker_id, outcomes.report
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    remaining = limit
    ends = time.monotonic() + settings.delivery_run_seconds
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
        await _send_batch(
            ids,
            engine=engine,
            settings=settings,
            config=config,
            outcomes=outcomes,
            target=target,
            lease=lease,
        )
        if time.monotonic() > ends:  # at least one batch per run, however slow
            report.stopped_early = True
            break


async def _send_batch(
    ids: Sequence[int],
    *,
    engine: Engine,
    settings: Settings,
    config: ServiceConfig,
    outcomes: Outcomes,
    target: SmtpTarget,
    lease: timedelta,
) -> None:
    """Render and send claimed rows while their lease is kept alive. One read snapshot per
    batch; outcomes are written in transactions of their own meanwhile."""
    with UnitOfWork(engine, config, read_only=True) as reader:
        renderer = Renderer(
            reader, settings=settings, config=config, now=outcomes.now, outcomes=outcomes
        )
        items = renderer.load(ids)
        keeper = asyncio.create_task(
            _keep_lease(engine, ids, worker_id=outcomes.worker_id, lease=lease, since=outcomes.now)
        )
        try:
            await send_all(
                items, target, settings.delivery_parallel_connections, outcomes, renderer.prepare
            )
        finally:
            keeper.cancel()


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
            with ConnectionUnitOfWork(engine) as uow:
                uow.connection.execute(
                    update(OUTBOX)
                    .where(
                        OUTBOX.c.id.in_(ids),
                        OUTBOX.c.status == "sending",
                        OUTBOX.c.claimed_by == worker_id,
                    )
                    .values(lease_expires_at=until)
                )
                uow.commit()
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
