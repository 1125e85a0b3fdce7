"""Publish placement history to Prefect as events, after the transactions committed.

``mobility.placement.<event>`` with resource ``mobility.placement.<reference>`` and the
programme as a related resource (and the flow run, when called from one). If no Prefect API is
configured, or it does not answer, nothing fails: the rows stay unpublished and the next call
catches up.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from states.bootstrap import App
from states.lifecycle.event_feed import PlacementEvent, mark_published, unpublished

log = logging.getLogger(__name__)

BATCH = 500


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


def _prefect_event(event: PlacementEvent, extra: list[dict[str, str]], now: datetime) -> Any:
    from prefect.events.schemas.events import Event

    return Event.model_validate(
        {
            "id": event.id,
            "event": event.event,
            # A history row written with a future as_of (demo, tests) is shown as happening now.
            "occurred": min(event.occurred, now),
            "resource": event.resource,
            "related": [*event.related, *extra],
            "payload": event.payload,
        }
    )


def api_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


async def publish_events(app: App, *, limit: int = BATCH) -> int:
    """Send every unpublished history row; return how many were published."""
    if not api_configured():
        return 0  # no server to tell: a temporary one per call would cost seconds
    from prefect.events.clients import get_events_client

    extra = _flow_run_related()
    published = 0
    while True:
        with app.reading() as reader:
            batch = unpublished(reader, limit=limit)
        if not batch:
            break
        now = datetime.now(UTC)
        try:
            async with get_events_client(reconnection_attempts=1) as client:
                for event in batch:
                    await client.emit(_prefect_event(event, extra, now))
        except Exception as error:  # the API is down: try again next time
            log.warning("events not published (%d waiting): %s", len(batch), error)
            break
        with app.uow() as uow:
            mark_published(uow, history_ids=[e.history_id for e in batch], at=now)
            uow.commit()
        published += len(batch)
        if len(batch) < limit:
            break
    return published
