"""``mobility run sweep|report|deliver`` without a Prefect server: the service runs directly,
says so, and bad input is one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

MOBILITY = str(Path(sys.executable).parent / "mobility")


@pytest.fixture
def env(tmp_path: Path, sqlite_template: Path) -> dict[str, str]:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "mobility.db")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOBILITY_"))}
    return {
        **clean,
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
        "MOBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'mobility.db'}",
        "MOBILITY_SECRET_KEY": "cli-test-secret",
    }


def mobility(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MOBILITY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_run_sweep_and_report_without_prefect(env: dict[str, str]) -> None:
    assert (
        mobility(env, "programme", "add", str(EXAMPLES / "programme-affiliation.yaml")).returncode
        == 0
    )
    assert mobility(env, "propose", str(EXAMPLES / "proposal.yaml")).returncode == 0
    # The proposal was made now; eight business days on, reminders and the digest are due.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from states.business_days import add_business_days

    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    later = add_business_days(today, 8)
    swept = mobility(env, "run", "sweep", "--as-of", f"{later.isoformat()}T07:00", "--json")
    assert swept.returncode == 0, swept.stderr
    assert "directly (PREFECT_API_URL is not set" in swept.stderr
    assert '"approval_reminder": 2' in swept.stdout
    assert '"escalation_digest": 1' in swept.stdout
    again = mobility(env, "run", "sweep", "--as-of", f"{later.isoformat()}T07:00")
    assert "nothing was due" in again.stdout

    report = mobility(env, "run", "report", "affilierad-kompetens-2027")
    assert report.returncode == 0, report.stderr
    assert "manager_approval  1" in report.stdout
    assert "home_manager" in report.stdout and "waiting longest" in report.stdout


def test_run_report_of_an_unknown_programme_is_one_line(env: dict[str, str]) -> None:
    done = mobility(env, "run", "report", "nope")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: no programme 'nope'")
    assert "Traceback" not in done.stderr


def test_run_sweep_rejects_a_bad_date(env: dict[str, str]) -> None:
    done = mobility(env, "run", "sweep", "--as-of", "tomorrow")
    assert done.returncode != 0
    assert "not an ISO date" in done.stderr and "Traceback" not in done.stderr


def test_run_deliver_without_prefect_sends_to_the_catcher_or_retries(env: dict[str, str]) -> None:
    """No SMTP server listens on the catcher port here: nothing crashes, rows are retried."""
    env = {**env, "MOBILITY_CATCHER_PORT": "9"}
    mobility(env, "programme", "add", str(EXAMPLES / "programme-affiliation.yaml"))
    mobility(env, "propose", str(EXAMPLES / "proposal.yaml"))
    done = mobility(env, "run", "deliver")
    assert done.returncode == 0, done.stderr
    assert "retried" in done.stdout
