"""``prefect --no-prompt deploy --all`` registers every deployment of prefect.yaml against a
running Prefect server (the session's test server), on the ``mobility`` process work pool."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")

pytestmark = pytest.mark.prefect


def prefect_cli(*args: str, api_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.run(
        [PREFECT, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_deploy_all_registers_every_deployment(prefect_server: str) -> None:
    from prefect.client.orchestration import get_client

    created = prefect_cli(
        "work-pool",
        "create",
        "mobility",
        "--type",
        "process",
        "--overwrite",
        api_url=prefect_server,
    )
    assert created.returncode == 0, created.stderr
    deployed = prefect_cli("--no-prompt", "deploy", "--all", api_url=prefect_server)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    async def deployments() -> dict[str, object]:
        async with get_client() as client:
            return {d.name: d for d in await client.read_deployments()}

    found = asyncio.run(deployments())
    assert set(found) >= {
        "sweep",
        "deliver-notifications",
        "propose-placement",
        "withdraw-placement",
        "programme-report",
        "register-proposals",
        "submit-draft",
        "resend-links",
        "send-reminder",
        "amend-placement",
        "cancel-placement",
    }
    sweep = found["sweep"]
    assert sweep.work_pool_name == "mobility"  # type: ignore[attr-defined]
    crons = {s.schedule.cron for s in sweep.schedules}  # type: ignore[attr-defined]
    assert "30 6 * * 1-5" in crons
    assert all(s.schedule.timezone == "Europe/Stockholm" for s in sweep.schedules)  # type: ignore[attr-defined]
    deliver = found["deliver-notifications"]
    # A safety net only: mail queued by a decision is delivered by the trigger (test_trigger.py).
    assert [s.schedule.interval.total_seconds() for s in deliver.schedules] == [900]  # type: ignore[attr-defined]
    assert found["programme-report"].schedules == []  # type: ignore[attr-defined]
    assert deliver.concurrency_options.collision_strategy == "ENQUEUE"  # type: ignore[attr-defined]
    assert asyncio.run(delivery_trigger()) == (
        {"prefect.resource.id": "mobility.outbox"},
        {"mobility.outbox.queued"},
    )


async def delivery_trigger() -> tuple[dict[str, str], set[str]]:
    """The event trigger ``prefect deploy`` made for deliver-notifications (an automation)."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        [found] = [
            a
            for a in await client.read_automations()
            if a.name == "deliver as soon as mail is queued"
            and getattr(a.trigger, "expect", None) == {"mobility.outbox.queued"}
        ][:1]
        trigger = found.trigger
        return dict(trigger.match.root), set(trigger.expect)  # type: ignore[attr-defined]


def test_mobility_up_serves_the_same_deployments_as_prefect_yaml() -> None:
    from flows.serve import build, deployment_specs

    specs = deployment_specs()
    served = {d.name: d for d in build(specs, deliver_every=5)}
    assert set(served) == {s["name"] for s in specs}
    assert [
        s.schedule.interval.total_seconds() for s in served["deliver-notifications"].schedules
    ] == [5]
    [trigger] = served["deliver-notifications"].triggers
    assert trigger.expect == {"mobility.outbox.queued"}
    assert served["sweep"].triggers == []
    assert {s.schedule.cron for s in served["sweep"].schedules} == {
        "30 6 * * 1-5",
        "0 8-17 * * 1-5",
    }
