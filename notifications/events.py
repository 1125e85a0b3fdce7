"""Prefect events, emitted after the transactions that caused them have committed.

- Placement history: ``mobility.placement.<event>`` on the resource
  ``mobility.placement.<reference>`` (named with the reference and the host, so a placement's
  whole life is one filter in the event feed), the programme as a related resource.
- ``mobility.outbox.queued`` on ``mobility.outbox``: fresh email is due. The
  ``deliver-notifications`` deployment's trigger (prefect.yaml) listens for it, so mail leaves
  within seconds of a decision; only callers that may have queued mail announce, and only when
  fresh mail is actually waiting, so the trigger creates no run with nothing to do.
- ``mobility.outbox.delivered``: one per delivery run that did something, with its counts
  (not one per email); ``mobility.email.dead``: one per message given up (rare; the ops
  automation fires on it).

Here, in the adapter layer, because both the link pages (``web``) and the flows publish. If no
Prefect API is configured, or it does not answer, nothing fails: history rows stay unpublished
and the next call catches up; a missed announcement is caught by the safety-net schedule.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from models import OutboxMessage
from notifications.queue import OutboxRow, list_outbox
from states.bootstrap import App
from states.lifecycle.event_feed import (
    PlacementEvent,
    mark_published,
    placement_resource_id,
    unpublished,
)

log = logging.getLogger(__name__)

BATCH = 500
OUTBOX_RESOURCE = {"prefect.resource.id": "mobility.outbox", "prefect.resource.name": "Outbox"}
QUEUED = "mobility.outbox.queued"
DELIVERED = "mobility.outbox.delivered"
DEAD = "mobility.email.dead"


def _flow_run_related() -> list[dict[str, str]]:
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return []
    return [
        {
            "prefect.resource.id": f"prefect.flow-run.{context.flow_run.id}",
            "prefect.resource.role": "flow-run",
            "prefect.resource.name": context.flow_run.name,
        }
    ]


def _prefect_event(
    *,
    event: str,
    resource: Mapping[str, str],
    related: Sequence[Mapping[str, str]] = (),
    payload: Mapping[str, Any] | None = None,
    occurred: datetime | None = None,
    id: uuid.UUID | None = None,
) -> Any:
    from prefect.events.schemas.events import Event

    now = datetime.now(UTC)
    return Event.model_validate(
        {
            "id": id or uuid.uuid4(),
            "event": event,
            # A row written with a future as_of (demo, tests) is shown as happening now.
            "occurred": min(occurred or now, now),
            "resource": dict(resource),
            "related": [*related, *_flow_run_related()],
            "payload": dict(payload or {}),
        }
    )


def _history_event(event: PlacementEvent) -> Any:
    return _prefect_event(
        id=event.id,
        event=event.event,
        occurred=event.occurred,
        resource=event.resource,
        related=event.related,
        payload=event.payload,
    )


def api_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


async def _emit(events: Sequence[Any]) -> None:
    from prefect.events.clients import get_events_client

    async with get_events_client(reconnection_attempts=1) as client:
        for event in events:
            await client.emit(event)


async def publish_history(app: App, *, limit: int = BATCH) -> int:
    """Send every unpublished history row; return how many were published."""
    published = 0
    while True:
        with app.reading() as reader:
            batch = unpublished(reader, limit=limit)
        if not batch:
            break
        try:
            await _emit([_history_event(e) for e in batch])
        except Exception as error:  # the API is down: try again next time
            log.warning("events not published (%d waiting): %s", len(batch), error)
            break
        with app.uow() as uow:
            mark_published(uow, history_ids=[e.history_id for e in batch], at=datetime.now(UTC))
            uow.commit()
        published += len(batch)
        if len(batch) < limit:
            break
    return published


def fresh_mail_due(app: App, *, now: datetime | None = None) -> int:
    """Emails waiting and due now (a retry still in its backoff is not due: the safety-net
    schedule sends it)."""
    moment = now or datetime.now(UTC)
    with app.reading() as reader:
        count = reader.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= moment,
            )
        )
    return int(count or 0)


async def announce_queued_mail(app: App, *, now: datetime | None = None) -> int:
    """Tell Prefect fresh mail is due (the delivery trigger's event); return how many."""
    due = fresh_mail_due(app, now=now)
    if due:
        try:
            await _emit(
                [_prefect_event(event=QUEUED, resource=OUTBOX_RESOURCE, payload={"due": due})]
            )
        except Exception as error:  # the safety-net schedule delivers it instead
            log.warning("mail queued but delivery not triggered: %s", error)
    return due


async def publish_events(app: App, *, limit: int = BATCH, announce: bool = True) -> int:
    """After a commit: with ``announce``, say fresh mail is due, then publish the history.
    Returns how many history rows were published. The announcement goes first: it is what a
    person waits for, and a backlog of history (a large import) must not hold it up."""
    if not api_configured():
        return 0  # no server to tell: a temporary one per call would cost seconds
    if announce:
        await announce_queued_mail(app)
    return await publish_history(app, limit=limit)


AFTER_COMMIT_TIMEOUT = 5.0


def _briefly(work: Coroutine[Any, Any, Any], timeout: float) -> None:
    """Run ``work`` on a loop of its own, never failing, never longer than ``timeout``."""
    try:
        asyncio.run(asyncio.wait_for(work, timeout))
    except Exception as error:  # the safety-net schedule and the next publisher catch up
        log.warning("events after the commit not published: %s", error)


def publish_after_request(app: App, *, timeout: float = AFTER_COMMIT_TIMEOUT) -> None:
    """For the web app, once a response is out (a thread of the server's pool): publish what
    its transaction caused, without waiting long for a Prefect API that is slow or away."""
    _briefly(publish_events(app), timeout)


def announce_after_command(app: App, *, timeout: float = AFTER_COMMIT_TIMEOUT) -> None:
    """For the CLI, after its commit: only the one event that triggers the delivery (a file of
    200,000 proposals must not wait for its history to be published; the next flow run does
    that)."""
    if api_configured():
        _briefly(announce_queued_mail(app), timeout)


def _dead_event(row: OutboxRow) -> Any:
    # No address: ops read it with `mobility outbox --state dead`; the reason says enough.
    related = [{**OUTBOX_RESOURCE, "prefect.resource.role": "outbox"}]
    if row.reference:
        related.append(
            {
                "prefect.resource.id": placement_resource_id(row.reference),
                "prefect.resource.role": "placement",
                "prefect.resource.name": row.reference,
            }
        )
    return _prefect_event(
        event=DEAD,
        resource={
            "prefect.resource.id": f"mobility.email.{row.id}",
            "prefect.resource.name": f"email {row.id} ({row.kind})",
        },
        related=related,
        payload={
            "id": row.id,
            "kind": row.kind,
            "reference": row.reference or "",
            "attempts": row.attempts,
            "reason": (row.last_error or "")[:300],
        },
    )


async def publish_delivery(app: App, *, counts: Mapping[str, int], dead_ids: Sequence[int]) -> None:
    """One summary event per delivery run that did something, one event per dead email."""
    if not api_configured() or not any(counts.values()):
        return
    dead = list_outbox(app.reading(), ids=dead_ids) if dead_ids else []
    events = [_prefect_event(event=DELIVERED, resource=OUTBOX_RESOURCE, payload=dict(counts))]
    events += [_dead_event(row) for row in dead]
    try:
        await _emit(events)
    except Exception as error:
        log.warning("delivery events not published: %s", error)
