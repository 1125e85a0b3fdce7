"""The flows, run under the session's Prefect test server: thin wrappers that do the work,
publish the history as events, and leave artifacts."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest
from sqlalchemy import func, select

from config import Settings
from flows.context import use_app
from models import HistoryEntry, OutboxMessage
from states.bootstrap import App, bootstrap
from states.lifecycle.event_feed import EVENT_NAMESPACE
from states.lifecycle.queries import get_placement
from tests.conftest import load_examples, propose_example
from tests.smtp_server import smtp_server
from tests.test_reminders import at

pytestmark = pytest.mark.prefect


def unpublished(app: App) -> int:
    with app.reading() as uow:
        return int(
            uow.session.scalar(
                select(func.count())
                .select_from(HistoryEntry)
                .where(HistoryEntry.published_at.is_(None))
            )
            or 0
        )


async def read_events(resource_id: str, *, ids: set[UUID] | None = None) -> list[Any]:
    """The events of one resource; if ``ids``, once all of them are there, and only those.
    (Event ids derive from reference and version, and other tests of the session's server
    publish events for the same references, from databases of their own.)"""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import (
        EventFilter,
        EventOccurredFilter,
        EventResourceFilter,
    )

    event_filter = EventFilter(
        occurred=EventOccurredFilter(since=datetime(2020, 1, 1, tzinfo=UTC)),
        resource=EventResourceFilter(id=[resource_id]),
    )
    async with get_client() as client:
        for _ in range(50):  # the server persists events a moment after it receives them
            page = await client.read_events(filter=event_filter, limit=50)
            found = [e for e in page.events if ids is None or e.id in ids]
            if found and (ids is None or len(found) == len(ids)):
                return found
            await asyncio.sleep(0.2)
    return []


def test_sweep_flow_reminds_and_publishes_history_as_events(
    prefect_server: str, examples: App
) -> None:
    from flows.sweep import sweep

    reference = propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    assert unpublished(examples) == 2  # register, submit
    with use_app(examples):
        result = asyncio.run(sweep(as_of=datetime(2027, 3, 31, 7)))  # naive: Stockholm
    assert result["counts"] == {"approval_reminder": 2}
    assert result["events_published"] == 2
    assert unpublished(examples) == 0
    ids = {uuid5(EVENT_NAMESPACE, f"{reference}:{version}") for version in (1, 2)}
    events = asyncio.run(read_events(f"mobility.placement.{reference}", ids=ids))
    names = {e.event for e in events}
    assert names == {"mobility.placement.register", "mobility.placement.submit"}
    submit = next(e for e in events if e.event == "mobility.placement.submit")
    related = {r.id: r.role for r in submit.related}
    assert related["mobility.programme.affilierad-kompetens-2027"] == "programme"
    assert any(rid.startswith("prefect.flow-run.") for rid in related)
    assert submit.payload["to_state"] == "manager_approval"


def test_events_wait_while_the_prefect_api_is_down_and_catch_up_later(
    prefect_server: str, examples: App
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.events import publish_events

    propose_example(examples)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert asyncio.run(publish_events(examples)) == 0  # nothing raised
    assert unpublished(examples) == 2
    assert asyncio.run(publish_events(examples)) == 2
    assert unpublished(examples) == 0


def test_propose_and_withdraw_from_the_run_form(prefect_server: str, examples: App) -> None:
    """Who acted is the coordinator named in the form, never the run's generated name."""
    from flows.placements import propose_placement, withdraw_placement
    from tests.flows.test_coordinator_flows import PROPOSAL_FORM

    coordinator = "sara.lind@univ.example"
    with use_app(examples):
        made = asyncio.run(propose_placement(proposal=PROPOSAL_FORM, acting_as=coordinator))
        assert made["state"] == "manager_approval" and made["created"]
        gone = asyncio.run(
            withdraw_placement(
                reference=made["reference"], reason="no budget", acting_as=coordinator
            )
        )
    assert gone["state"] == "withdrawn"
    detail = get_placement(examples.reading(), reference=made["reference"])
    assert [(h.actor, h.via) for h in detail.history] == [(coordinator, "flow")] * 3
    assert unpublished(examples) == 0


def test_programme_report_publishes_artifacts(prefect_server: str, examples: App) -> None:
    from prefect.client.orchestration import get_client

    from flows.report import programme_report

    reference = propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    with use_app(examples):
        result = asyncio.run(programme_report(programme="affilierad-kompetens-2027"))
    assert result["states"] == {"manager_approval": 1}
    assert result["waiting_longest"][0]["reference"] == reference
    assert {w["role"] for w in result["waiting_longest"][0]["waiting_for"]} == {
        "home_manager",
        "host_contact",
    }

    async def keys() -> set[str]:
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts() if a.key}

    assert {
        "affilierad-kompetens-2027-states",
        "affilierad-kompetens-2027-overdue",
        "affilierad-kompetens-2027-charts",
        "affilierad-kompetens-2027-follow-up",
    } <= asyncio.run(keys())


def test_deliver_flow_sends_the_outbox_through_smtp(
    prefect_server: str, tmp_path: Path, sqlite_template: Path
) -> None:
    import shutil

    from flows.deliver import deliver_notifications

    shutil.copy(sqlite_template, tmp_path / "mobility.db")
    with smtp_server() as server:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'mobility.db'}",
            var_dir=tmp_path / "var",
            secret_key="test-secret-key",
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            _env_file=None,  # type: ignore[call-arg]
        )
        app = bootstrap(settings)
        load_examples(app)
        propose_example(app, as_of=datetime.now(UTC))  # due now, not at the example's date
        with use_app(app):
            result = asyncio.run(deliver_notifications())
        assert result["sent"] == 2 and result["dead"] == 0
        assert server.received == 2
    with app.reading() as uow:
        statuses = set(uow.session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent"}


def test_deliver_flow_sends_what_is_due_at_its_as_of_parameter(
    prefect_server: str, tmp_path: Path, sqlite_template: Path
) -> None:
    """A simulated calendar (the scale-out proof) reaches the workers as ``as_of``: emails
    queued in the future are not due now, and are sent by a run at that time."""
    import shutil

    from flows.deliver import deliver_notifications

    shutil.copy(sqlite_template, tmp_path / "mobility.db")
    future = datetime(2030, 3, 4, 9, tzinfo=UTC)
    with smtp_server() as server:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'mobility.db'}",
            var_dir=tmp_path / "var",
            secret_key="test-secret-key",
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            _env_file=None,  # type: ignore[call-arg]
        )
        app = bootstrap(settings)
        load_examples(app)
        propose_example(app, as_of=future)
        with use_app(app):
            now = asyncio.run(deliver_notifications())
            # a naive time is Stockholm time, as for the sweep: 11:00 there is past 09:00 UTC
            later = asyncio.run(deliver_notifications(as_of=future.replace(hour=11, tzinfo=None)))
        assert (now["claimed"], later["sent"], server.received) == (0, 2, 2)


def test_mobility_run_sweep_is_a_flow_run_when_a_server_is_configured(
    prefect_server: str, tmp_path: Path, sqlite_template: Path
) -> None:
    """With PREFECT_API_URL set, `mobility run sweep` runs the flow: the run is in the UI."""
    import os
    import shutil
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    shutil.copy(sqlite_template, tmp_path / "mobility.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOBILITY_")}
    env.update(
        {
            "PREFECT_API_URL": prefect_server,
            "MOBILITY_VAR_DIR": str(tmp_path / "var"),
            "MOBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'mobility.db'}",
            "MOBILITY_SECRET_KEY": "flow-cli-secret",
        }
    )

    async def sweep_runs() -> int:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["sweep"]))
            )
            return len(runs)

    before = asyncio.run(sweep_runs())
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "mobility"),
            "run",
            "sweep",
            "--as-of",
            "2027-03-31T07:00",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "as a Prefect flow run" in done.stderr
    assert asyncio.run(sweep_runs()) == before + 1
