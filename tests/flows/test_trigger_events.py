"""The events the console is built on, read back from the session's Prefect server: the
announcement only when fresh mail is due, one summary per delivery run (not one per email),
placements named so that a person recognises them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from flows.context import use_app
from notifications.events import fresh_mail_due, publish_events
from states.bootstrap import App
from tests.conftest import propose_example
from tests.flows.test_flows import read_events
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.prefect


async def events_named(name: str, since: datetime) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    event_filter = EventFilter(
        occurred=EventOccurredFilter(since=since), event=EventNameFilter(name=[name])
    )
    async with get_client() as client:
        for _ in range(50):  # the server persists events a moment after it receives them
            page = await client.read_events(filter=event_filter, limit=50)
            if page.events:
                await asyncio.sleep(0.5)  # and any that came just after
                return list((await client.read_events(filter=event_filter, limit=50)).events)
            await asyncio.sleep(0.2)
    return []


def test_mail_is_announced_once_and_delivery_is_summarised_per_run(
    prefect_server: str, examples: App
) -> None:
    from flows.deliver import deliver_notifications

    since = datetime.now(UTC)
    reference = propose_example(examples, as_of=since)
    assert fresh_mail_due(examples) == 2
    asyncio.run(publish_events(examples))
    [queued] = asyncio.run(events_named("mobility.outbox.queued", since))
    assert queued.payload == {"due": 2}
    assert queued.resource.id == "mobility.outbox"

    with smtp_server() as smtp:
        examples.settings.smtp_host, examples.settings.smtp_port = "127.0.0.1", smtp.port
        with use_app(examples):
            result = asyncio.run(deliver_notifications())
    assert result["sent"] == 2
    [summary] = asyncio.run(events_named("mobility.outbox.delivered", since))
    assert summary.payload["sent"] == 2 and summary.payload["dead"] == 0
    assert any(r.id.startswith("prefect.flow-run.") for r in summary.related)

    # Nothing is due any more: a later commit announces nothing, so triggers no empty run.
    assert fresh_mail_due(examples) == 0
    asyncio.run(publish_events(examples))
    assert len(asyncio.run(events_named("mobility.outbox.queued", since))) == 1

    [submit, *_] = [
        e
        for e in asyncio.run(read_events(f"mobility.placement.{reference}"))
        if e.event == "mobility.placement.submit"
    ]
    assert submit.resource.name == f"{reference} · Institutionen för maskinteknik"
