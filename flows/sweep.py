"""``sweep``: one run does what the calendar says is due — reminders, escalation digests, start
notices, check-ins, the end of placements and the closing of evaluations
(``states.calendar.sweep``).

Scheduled on weekday mornings (``prefect.yaml``); safe to run twice or twice at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger

from flows.context import aware, current_app
from flows.events import publish_events
from flows.forms import moment_field
from flows.report import publish_overdue


class SweepFailed(RuntimeError):
    """Some placements could not be handled; the rest of the sweep was done."""


@flow(name="sweep", log_prints=False)
async def sweep(
    as_of: datetime | None = moment_field("Do what is due at this moment (a test or a catch-up)."),
) -> dict[str, Any]:
    """Do what is due at ``as_of`` (default: now; a naive time is read in Europe/Stockholm)."""
    from states.calendar.sweep import run_sweep

    logger = get_run_logger()
    app = current_app()
    moment = aware(as_of, app)
    report = await asyncio.to_thread(run_sweep, app.uow, as_of=moment)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing due"
    logger.info("sweep at %s: %s", moment.isoformat(), summary)
    published = await publish_events(app)
    await publish_overdue(app, moment)
    result = {**report.as_dict(), "events_published": published}
    if report.failures:
        for line in report.failures:
            logger.error("%s", line)
        raise SweepFailed(f"{len(report.failures)} item(s) failed; the others were done")
    return result
