"""The automations shipped with the product, on the session's Prefect server: created twice
(the same two, no duplicates), then a failed sweep run and a dead email each fire their action,
and the alert reaches a real SMTP server (sent by the Prefect server through the ``Mobility ops
email`` block, loaded as a Prefect collection)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from config import Settings
from flows.automations import BLOCK_NAME, EMAIL_DEAD, RUN_FAILED, set_up
from flows.context import use_app
from states.bootstrap import App, bootstrap
from tests.conftest import load_examples, propose_example
from tests.smtp_server import SmtpTestServer, smtp_server

pytestmark = pytest.mark.prefect

OPS = "ops@univ.example"


def settings_for(tmp: Path, smtp: SmtpTestServer, database: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{database}",
        var_dir=tmp / "var",
        secret_key="automation-test-secret",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        ops_email=OPS,
        _env_file=None,  # type: ignore[call-arg]
    )


def alerts(smtp: SmtpTestServer, containing: str) -> list[EmailMessage]:
    return [m for m in smtp.to(OPS) if containing in str(m["Subject"])]


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.2)


async def automations_named(name: str) -> int:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return len(await client.read_automations_by_name(name))


@pytest.fixture
def ops_smtp(prefect_server: str) -> Iterator[SmtpTestServer]:
    with smtp_server() as smtp:
        yield smtp


def test_setup_is_idempotent(ops_smtp: SmtpTestServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, ops_smtp, tmp_path / "unused.db")
    asyncio.run(set_up(settings))
    again = asyncio.run(set_up(settings))
    assert again.created == []
    assert sorted(again.updated) == sorted([RUN_FAILED, EMAIL_DEAD])
    assert again.block == BLOCK_NAME
    assert asyncio.run(automations_named(RUN_FAILED)) == 1
    assert asyncio.run(automations_named(EMAIL_DEAD)) == 1


def test_a_failed_sweep_run_emails_ops(ops_smtp: SmtpTestServer, tmp_path: Path) -> None:
    from flows.sweep import sweep

    # A database nobody migrated: the sweep run fails (an unexpected error, not a refusal).
    broken = bootstrap(settings_for(tmp_path, ops_smtp, tmp_path / "not-migrated.db"))
    asyncio.run(set_up(broken.settings))
    with use_app(broken), pytest.raises(Exception, match="no such table"):
        asyncio.run(sweep(as_of=datetime(2027, 3, 31, 7)))
    wait_for("the ops alert for the failed sweep", lambda: bool(alerts(ops_smtp, "sweep")))
    alert = alerts(ops_smtp, "sweep")[0]
    assert str(alert["Subject"]) == "Mobility Engine: sweep failed"
    body = alert.get_content()
    assert ": Failed." in body and "no such table" in body


def test_a_dead_email_emails_ops(
    ops_smtp: SmtpTestServer, tmp_path: Path, sqlite_template: Path
) -> None:
    from flows.deliver import deliver_notifications

    shutil.copy(sqlite_template, tmp_path / "mobility.db")
    app: App = bootstrap(settings_for(tmp_path, ops_smtp, tmp_path / "mobility.db"))
    load_examples(app)
    reference = propose_example(app, as_of=datetime.now(UTC))
    asyncio.run(set_up(app.settings))
    ops_smtp.faults.refuse = {"eva.holm@verktyg.example"}  # 550 at RCPT: dead at once
    with use_app(app):
        result = asyncio.run(deliver_notifications())
    assert (result["sent"], result["dead"]) == (1, 1)
    wait_for("the ops alert for the dead email", lambda: bool(alerts(ops_smtp, "given up")))
    alert = alerts(ops_smtp, "given up")[0]
    assert reference in str(alert["Subject"])
    body = alert.get_content()
    assert "550" in body and "mobility outbox retry" in body
    app.engine.dispose()
