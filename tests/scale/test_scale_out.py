"""Scale-out proof on Prefect itself: a `prefect server start` whose database is PostgreSQL, the
`mobility` process work pool, 2 `prefect worker start` processes executing the `sweep` and
`deliver-notifications` deployments registered from prefect.yaml, 2 web processes serving the
links, a real SMTP sink, and a load generator driving 2,000 placements through their emailed
links over a simulated month (the simulated time reaches the workers as the runs' ``as_of``).

Faults on the first day, under the heaviest load: the Prefect server stopped for 60 s and
started again; every PostgreSQL connection of a running delivery terminated.

Invariants, each printed with its count and asserted: every placement in a final state that its
history replays to through the machine's allowed transitions; the emails an independent oracle
derives from the history rows, the sweep runs and the programme file equal the emails
received, each exactly once by Message-ID, none unexpected; quiescence; no error line in any
log outside the fault windows. Run by ``make test-scale`` (``.ci/run``).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from models import Placement
from states.bootstrap import App
from states.intake.registration import register_programme, register_proposals
from states.lifecycle.machine import FINAL_STATES
from tests.conftest import POSTGRES_URL
from tests.scale.clock import FileClock
from tests.scale.driver import FLOW_APPLICATION, Driver
from tests.scale.judge import judge
from tests.scale.load import COORDINATOR, LoadGenerator, programme, proposal
from tests.scale.prefect_stack import PrefectStack, prefect_environment
from tests.scale.processes import guarded
from tests.smtp_server import SmtpTestServer, free_port

pytestmark = [pytest.mark.scale, pytest.mark.postgres]

# The figure; a smaller number only to try the machinery out locally.
PLACEMENTS = int(os.environ.get("MOBILITY_SCALE_PLACEMENTS", "2000"))
MAX_DAYS = 45
STOCKHOLM = ZoneInfo("Europe/Stockholm")
SIM_START = datetime(2027, 3, 1, tzinfo=STOCKHOLM)  # a Monday
ROOT = Path(__file__).resolve().parents[2]


def _with_application(url: str, name: str) -> str:
    return make_url(url).update_query_dict({"application_name": name}).render_as_string(False)


def _prefect_database(admin_url: str) -> tuple[str, str]:
    name = f"prefect_scale_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    return name, url.render_as_string(hide_password=False)


def _drop(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _environments(
    postgres_database: str, tmp_path: Path, smtp: SmtpTestServer, web_ports: list[int], api_url: str
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    base = {
        **os.environ,
        "MOBILITY_SMTP_HOST": "127.0.0.1",
        "MOBILITY_SMTP_PORT": str(smtp.port),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
        "MOBILITY_BASE_URL": f"http://127.0.0.1:{web_ports[0]}",
        "PYTHONPATH": str(ROOT),
    }
    prefect = prefect_environment(base, home=tmp_path / "prefect-home", api_url=api_url)
    workers = {
        **prefect,
        "MOBILITY_DATABASE_URL": _with_application(postgres_database, FLOW_APPLICATION),
        "PREFECT_WORKER_QUERY_SECONDS": "3",
    }
    web = {**base, "MOBILITY_DATABASE_URL": _with_application(postgres_database, "mobility-web")}
    return prefect, workers, web


def test_scale_out_on_prefect(postgres_app: App, postgres_database: str, tmp_path: Path) -> None:
    assert POSTGRES_URL
    began = time.monotonic()
    app = postgres_app
    register_programme(app.uow(), programme=programme())
    smtp = SmtpTestServer().start()
    clock = FileClock(tmp_path / "clock")
    clock.set(SIM_START)
    web_ports = [free_port(), free_port()]
    prefect_db, prefect_url = _prefect_database(POSTGRES_URL)
    (tmp_path / "prefect-home").mkdir()
    port = free_port()
    prefect_env, worker_env, web_env = _environments(
        postgres_database, tmp_path, smtp, web_ports, f"http://127.0.0.1:{port}/api"
    )
    try:
        with guarded(tmp_path) as processes:
            stack = PrefectStack(processes, prefect_env, port, prefect_url)
            started = stack.start_server(timeout=600)
            stack.deploy()
            stack.start_workers(2, worker_env)
            for number, web_port in enumerate(web_ports):
                command = [
                    sys.executable,
                    "-m",
                    "tests.scale.worker",
                    str(clock.path),
                    str(web_port),
                ]
                processes.start(f"web-{number}", command, env=web_env, cwd=ROOT)
            generator = LoadGenerator(app, smtp, web_ports, clock)
            driver = Driver(
                app,
                stack,
                processes,
                generator,
                clock,
                smtp,
                POSTGRES_URL,
                make_url(postgres_database).database or "",
            )
            driver.timings["prefect server start"] = f"{started:.1f} s to healthy on PostgreSQL"
            try:
                _simulate(driver, app, clock)
                prefect_runs, exited = stack.runs(), processes.exited()
                processes.stop_all()  # their logs are judged whole, shutdown included
                outcome = judge(
                    driver,
                    app,
                    smtp,
                    processes.logs(),
                    exited,
                    prefect_runs=prefect_runs,
                    placements=PLACEMENTS,
                )
            finally:
                generator.close()
        smtp.stop()
    finally:
        _drop(POSTGRES_URL, prefect_db)
    print(f"  wall time: {time.monotonic() - began:.0f} s")
    for failure in outcome:
        pytest.fail(failure)


SCALE_LOGS = Path(__file__).resolve().parents[2] / "var" / "scale-logs"


def _keep_logs(logs: dict[str, str]) -> None:
    """Every process's log in var/scale-logs, and the end of each printed, for a failed run."""
    SCALE_LOGS.mkdir(parents=True, exist_ok=True)
    for name, content in logs.items():
        (SCALE_LOGS / name).write_text(content, encoding="utf-8")
        print(f"--- {name}: last lines (whole log in {SCALE_LOGS / name})")
        print("\n".join(content.splitlines()[-25:]))


def _simulate(driver: Driver, app: App, clock: FileClock) -> None:
    for offset in range(MAX_DAYS):
        day = SIM_START + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        driver.sweep(day.replace(hour=7))
        if offset == 0:
            clock.set(day.replace(hour=8))
            for first in range(0, PLACEMENTS, 100):
                register_proposals(
                    app.uow(),
                    proposals=[
                        proposal(n, SIM_START.date())
                        for n in range(first, min(first + 100, PLACEMENTS))
                    ],
                    actor=COORDINATOR,
                    via="cli",
                    as_of=clock(),
                )
        clock.set(day.replace(hour=9))
        last = driver.work_through(day.replace(hour=9))
        if _all_final(app) and not driver.due(last + timedelta(days=1)):
            return
    raise AssertionError(f"not done after {MAX_DAYS} days: {driver.moving()}")


def _all_final(app: App) -> bool:
    with app.reading() as uow:
        return (
            uow.session.scalar(
                select(Placement.id).where(Placement.state.not_in(FINAL_STATES)).limit(1)
            )
            is None
        )
