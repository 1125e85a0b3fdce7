"""Event-driven delivery against the session's Prefect server: a decision made through a link
(``mobility web``, as served) emits ``mobility.outbox.queued`` after its commit, the
``deliver-notifications`` deployment's trigger (served by ``python -m flows.serve``, as
``mobility up`` does) starts a run, and the emails reach a real SMTP server within seconds.
The safety-net schedule is an hour here, so only the trigger can have delivered them."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config import Settings
from models import ActionToken, Person
from notifications.delivery import deliver_due_sync
from states.bootstrap import App, bootstrap
from tests.conftest import load_examples, propose_example
from tests.flows.test_up import answers
from tests.smtp_server import SmtpTestServer, smtp_server
from web.server import free_port

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]
MOBILITY = str(Path(sys.executable).parent / "mobility")


def wait_until(what: str, check: Callable[[], bool], timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in logs)
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{tails}")
        time.sleep(0.1)


@contextmanager
def child(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=5)


def stack_env(settings: Settings, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOBILITY_"))}
    env.update(
        {
            "MOBILITY_DATABASE_URL": settings.resolved_database_url,
            "MOBILITY_VAR_DIR": str(settings.var_dir),
            "MOBILITY_SECRET_KEY": "trigger-test-secret",
            "MOBILITY_BASE_URL": settings.base_url,
            "MOBILITY_SMTP_HOST": "127.0.0.1",
            "MOBILITY_SMTP_PORT": str(settings.smtp_port),
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": os.environ["PREFECT_HOME"],
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # what `mobility up` sets
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def approval_link(app: App, email: str) -> str:
    with app.reading() as uow:
        token = uow.session.scalars(
            select(ActionToken)
            .join(Person, Person.id == ActionToken.person_id)
            .where(ActionToken.purpose == "approval", Person.email == email)
        ).one()
        return f"{app.settings.base_url}/l/{app.config.minter.raw_for(token)}"


async def delivery_runs() -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async with get_client() as client:
        return list(
            await client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=["deliver-notifications"])
                )
            )
        )


TRIGGER = "deliver as soon as mail is queued"


async def trigger_registered() -> bool:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return bool(await client.read_automations_by_name(TRIGGER))


async def clean_slate() -> None:
    """`prefect deploy` (test_deploy.py) registers the same deployment, with a worker's pull
    steps and its own trigger: remove both, so only what `flows.serve` registers counts."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            deployment = await client.read_deployment_by_name(
                "deliver-notifications/deliver-notifications"
            )
            await client.delete_deployment(deployment.id)
        except ObjectNotFound:
            pass
        for automation in await client.read_automations_by_name(TRIGGER):
            await client.delete_automation(automation.id)


@pytest.fixture
def decided_stack(
    prefect_server: str, tmp_path: Path, sqlite_template: Path
) -> Iterator[tuple[App, SmtpTestServer, dict[str, str], list[Path]]]:
    shutil.copy(sqlite_template, tmp_path / "mobility.db")
    with smtp_server() as smtp:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'mobility.db'}",
            var_dir=tmp_path / "var",
            secret_key="trigger-test-secret",
            base_url=f"http://127.0.0.1:{free_port()}",
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            _env_file=None,  # type: ignore[call-arg]
        )
        app = bootstrap(settings)
        load_examples(app)
        propose_example(app, as_of=datetime.now(UTC))
        env = stack_env(settings, prefect_server)
        asyncio.run(clean_slate())
        logs = [tmp_path / "serve.log", tmp_path / "web.log"]
        port = settings.base_url.rsplit(":", 1)[1]
        serve = [sys.executable, "-m", "flows.serve", "--only", "deliver-notifications"]
        with (
            child([*serve, "--deliver-every", "3600"], env, logs[0]),
            child([MOBILITY, "web", "--port", port], env, logs[1]),
        ):
            wait_until("web app", lambda: answers(f"{settings.base_url}/healthz"), 60, logs)
            wait_until(
                "the served deployment's trigger",
                lambda: asyncio.run(trigger_registered()),
                90,
                logs,
            )
            yield app, smtp, env, logs
        app.engine.dispose()


def test_a_decision_by_link_is_delivered_by_the_trigger_within_seconds(
    decided_stack: tuple[App, SmtpTestServer, dict[str, str], list[Path]],
) -> None:
    app, smtp, _env, logs = decided_stack
    # The approval requests leave directly, before anything is served: the outbox is empty.
    first = deliver_due_sync(engine=app.engine, settings=app.settings, config=app.config)
    assert first.sent == 2
    runs_before = asyncio.run(delivery_runs())
    link = approval_link(app, "eva.holm@verktyg.example")
    body = urllib.parse.urlencode({"decision": "decline", "comment": "Not this year."}).encode()
    with urllib.request.urlopen(urllib.request.Request(link, data=body), timeout=10) as page:
        assert page.status == 200
    decided, decided_at = time.monotonic(), datetime.now(UTC)
    wait_until("the decline notices", lambda: smtp.received > 2, 60, logs)
    delay = time.monotonic() - decided
    runs = [r for r in asyncio.run(delivery_runs()) if r.id not in {b.id for b in runs_before}]
    assert runs, "no delivery run"
    created = min((r.created - decided_at).total_seconds() for r in runs if r.created)
    started = min((r.start_time - decided_at).total_seconds() for r in runs if r.start_time)
    print(
        f"\nFIGURE trigger→delivered {delay:.1f} s (run created after {created:.1f} s, "
        f"started after {started:.1f} s; load average {os.getloadavg()[0]:.1f})"
    )
    # Within 10 s on a quiet 2-core machine; the bound is generous for one shared by six
    # suites (measured 9-16 s at a load average of 10). What it guards: not the schedule.
    assert delay < 30, f"{delay:.1f} s"
    assert {r.created_by.type for r in runs if r.created_by} == {"AUTOMATION"}
    assert not any(r.auto_scheduled for r in runs)
    assert len(runs) == 1  # one decision, one batch of mail, one run
