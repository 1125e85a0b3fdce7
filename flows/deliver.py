"""``deliver-notifications``: one run sends what is due in the outbox, in batches.

The delivery itself (claiming rows with a lease, rendering, SMTP, backoff per message) lives in
``notifications.delivery``; this flow wraps the whole batch in Prefect retries (for an SMTP
server or database that is briefly away), logs a summary, then publishes pending history, one
summary event for the run and one per email given up (``mobility.email.dead``, which the ops
automation listens for).

Started by the deployment trigger on ``mobility.outbox.queued`` (within seconds of a decision)
and by a slow safety-net schedule (retries, and announcements missed while the API was down).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task

from flows.context import aware, current_app
from flows.events import announce_queued_mail, publish_delivery, publish_events
from flows.forms import ask, moment_field


@task(name="deliver-batch", retries=3, retry_delay_seconds=[5, 20, 60], retry_jitter_factor=0.5)
async def deliver_batch(limit: int | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    from notifications.delivery import deliver_due

    app = current_app()
    report = await deliver_due(
        engine=app.engine, settings=app.settings, config=app.config, now=as_of, limit=limit
    )
    return {
        "counts": report.counts(),
        "dead_ids": list(report.dead_ids),
        "stopped_early": report.stopped_early,
    }


@flow(name="deliver-notifications", log_prints=False, retries=0)
async def deliver_notifications(
    limit: int | None = ask(
        "At most", "Send at most this many emails; empty: all that are due.", None
    ),
    as_of: datetime | None = moment_field(
        "Send what is due at this moment (a simulated calendar)."
    ),
) -> dict[str, Any]:
    """Send the emails that are due (at most ``limit``, or all of them) at ``as_of``: by
    default the clock, read afresh for each batch; a given time is read as ``sweep`` reads
    its own (naive: Europe/Stockholm), so a simulated calendar reaches every worker as a
    parameter."""
    logger = get_run_logger()
    moment = aware(as_of, current_app()) if as_of is not None else None
    done = await deliver_batch(limit, moment)
    counts: dict[str, int] = done["counts"]
    logger.info("delivered: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    if counts.get("dead"):
        logger.warning(
            "%d message(s) given up; see `mobility outbox show --state dead`", counts["dead"]
        )
    app = current_app()
    # Delivery queues nothing new, so it announces mail only when its time ran out with mail
    # left: the trigger then starts the next run at once (never a loop: a run that found the
    # outbox empty has nothing to announce).
    published = await publish_events(app, announce=False)
    if done["stopped_early"]:
        logger.info(
            "time is up for this run; mail left: %d", await announce_queued_mail(app, now=moment)
        )
    await publish_delivery(app, counts=counts, dead_ids=done["dead_ids"])
    return {**counts, "events_published": published}
