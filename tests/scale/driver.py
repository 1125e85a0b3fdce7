"""The simulated calendar of the scale-out proof, driven through Prefect: each weekday a `sweep`
deployment run at 07:00, then `deliver-notifications` runs (as_of 09:00, a simulated minute
later each round) while the people act on what arrives, until the day is quiet. The two faults
are injected on the first day, under the heaviest load.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, create_engine, func, or_, select, text

from models import OutboxMessage, Placement
from states.bootstrap import App
from states.lifecycle.machine import FINAL_STATES
from tests.scale.clock import FileClock
from tests.scale.load import LoadGenerator
from tests.scale.prefect_stack import PrefectStack
from tests.scale.processes import Processes
from tests.smtp_server import SmtpTestServer

RUN_TIMEOUT = 900.0  # one flow run on a busy 2-core machine (seconds)
DAY_TIMEOUT = 1800.0  # one simulated day, all rounds
SERVER_DOWN_SECONDS = 60.0
FLOW_APPLICATION = "mobility-flow-run"
ERROR_LINE = re.compile(r"\bERROR\b|\bCRITICAL\b|Traceback")


@dataclass
class Window:
    """The log bytes written while a fault was on, and until the system recovered."""

    label: str
    start: dict[str, int]
    end: dict[str, int] = field(default_factory=dict)


@dataclass
class Driver:
    app: App
    stack: PrefectStack
    processes: Processes
    generator: LoadGenerator
    clock: FileClock
    smtp: SmtpTestServer
    admin_url: str
    database: str
    runs: list[tuple[str, str, str, str]] = field(default_factory=list)
    sweeps: list[datetime] = field(default_factory=list)
    timings: dict[str, str] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    faults_due: list[str] = field(default_factory=lambda: ["prefect down", "pg terminate"])

    # --- flow runs -------------------------------------------------------------------------

    def sweep(self, moment: datetime) -> None:
        run_id = self.stack.run("sweep", {"as_of": moment.isoformat()})
        state, message = self.stack.wait(run_id, timeout=RUN_TIMEOUT)
        self.runs.append(("sweep", run_id, state, message))
        if state == "COMPLETED":
            self.sweeps.append(moment)

    def _deliver(self, moment: datetime) -> str:
        return self.stack.run("deliver-notifications", {"as_of": moment.isoformat()})

    def due(self, moment: datetime) -> int:
        """Rows a delivery at ``moment`` would claim."""
        with self.app.reading() as uow:
            return int(
                uow.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        or_(
                            and_(
                                OutboxMessage.status == "pending",
                                OutboxMessage.next_attempt_at <= moment,
                            ),
                            and_(
                                OutboxMessage.status == "sending",
                                OutboxMessage.lease_expires_at <= moment,
                            ),
                        )
                    )
                )
                or 0
            )

    # --- one day ---------------------------------------------------------------------------

    def work_through(self, morning: datetime) -> datetime:
        """Deliver and act until nothing more happens today; returns the last as_of used."""
        deadline = time.monotonic() + DAY_TIMEOUT
        active: tuple[str, float, int] | None = None  # run id, started, mail count then
        moment, rounds = morning, 0
        self.generator.paused = self.faults_due[:1] == ["prefect down"]
        while time.monotonic() < deadline:
            arrived = self.generator.step()
            if active is not None:
                active = self._follow(active)
                if active is None and self.faults_due[:1] == ["prefect down"]:
                    self.prefect_down()
                time.sleep(0.3)
                continue
            moment = morning + timedelta(minutes=rounds)
            if self.due(moment):
                active = (self._deliver(moment), time.monotonic(), self.smtp.received)
                rounds += 1
            elif not arrived and not self.generator.busy() and not self.due(moment):
                return moment
            time.sleep(0.3)
        raise AssertionError(f"{morning:%Y-%m-%d} never became quiet: {self.moving()}")

    def _follow(self, active: tuple[str, float, int]) -> tuple[str, float, int] | None:
        run_id, started, mail_before = active
        state, message = self.stack.state(run_id)
        fault_due = self.faults_due[:1] == ["pg terminate"]
        if fault_due and state == "RUNNING" and self.smtp.received > mail_before:
            self.pg_terminate(run_id)  # sending: it holds connections now
        if state not in {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}:
            if time.monotonic() - started > RUN_TIMEOUT:
                raise AssertionError(f"delivery run {run_id} still {state}: {self.moving()}")
            return active
        self.runs.append(("deliver-notifications", run_id, state, message))
        for window in self.windows:
            if not window.end and window.label != "prefect down":
                window.end = self.offsets()  # recovered: the run after the fault ended
        return None

    # --- the faults ------------------------------------------------------------------------

    def offsets(self) -> dict[str, int]:
        return {s.log.name: s.log.stat().st_size for s in self.processes.history}

    def prefect_down(self) -> None:
        """Stop the Prefect server for 60 s between runs while people keep acting: the links
        answer, the outbox fills and waits; then start it again on the same database."""
        self.faults_due.remove("prefect down")
        window = Window("prefect down", self.offsets())
        self.windows.append(window)
        began = time.monotonic()
        self.stack.stop_server()
        self.generator.paused = False
        posts_before, links, failures = sum(self.generator.answers.values()), 0, []
        waiting = 0
        while time.monotonic() - began < SERVER_DOWN_SECONDS:
            self.generator.step()
            for link in self.generator.recent_links[-3:]:
                answer = httpx.get(link, timeout=60)
                links += 1
                if answer.status_code not in (200, 410):
                    failures.append(answer.status_code)
            with self.app.reading() as uow:
                waiting = max(
                    waiting,
                    int(
                        uow.session.scalar(
                            select(func.count())
                            .select_from(OutboxMessage)
                            .where(OutboxMessage.status == "pending")
                        )
                        or 0
                    ),
                )
            time.sleep(1)
        posts = sum(self.generator.answers.values()) - posts_before
        healthy = self.stack.start_server(timeout=600)
        probe = self._deliver(self.clock() + timedelta(minutes=30))
        picked = self.stack.wait(probe, timeout=RUN_TIMEOUT)
        self.runs.append(("deliver-notifications", probe, *picked))
        window.end = self.offsets()
        self.timings["prefect server down"] = (
            f"stopped {SERVER_DOWN_SECONDS:.0f} s; meanwhile {posts} link POSTs answered, "
            f"{links} link GETs answered ({len(failures)} not 200/410), up to {waiting} emails "
            f"waited in the outbox; healthy {healthy:.1f} s after the restart; the first run "
            f"after it ended {time.monotonic() - began - SERVER_DOWN_SECONDS:.1f} s after the "
            f"restart began ({picked[0]})"
        )
        assert failures == [], failures
        assert links > 0 and waiting > 0

    def pg_terminate(self, run_id: str) -> None:
        """Terminate every PostgreSQL connection the flow runs hold, mid-run."""
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = :database AND application_name = :application"
                ),
                {"database": self.database, "application": FLOW_APPLICATION},
            ).scalar_one()
        admin.dispose()
        if not killed:
            return  # between two connections: try again at the next poll
        self.faults_due.remove("pg terminate")
        self.windows.append(Window("pg terminate", self.offsets()))
        began = time.monotonic()
        state, _ = self.stack.wait(run_id, timeout=RUN_TIMEOUT)
        self.timings["pg_terminate_backend"] = (
            f"{killed} connections of flow run {run_id[:8]} terminated after "
            f"{self.smtp.received} emails; the run ended {state} "
            f"{time.monotonic() - began:.1f} s later"
        )

    # --- what is still moving ---------------------------------------------------------------

    def moving(self) -> str:
        with self.app.reading() as uow:
            outbox = Counter(
                dict(
                    uow.session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    ).all()
                )
            )
            open_states = Counter(
                dict(
                    uow.session.execute(
                        select(Placement.state, func.count())
                        .where(Placement.state.not_in(FINAL_STATES))
                        .group_by(Placement.state)
                    ).all()
                )
            )
        runs = [
            r
            for r in self.stack.runs()
            if r["state_type"] not in {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
        ]
        return (
            f"outbox {dict(outbox)}; placements not final {dict(open_states)}; POSTs in flight "
            f"{self.generator.busy()}; flow runs not finished "
            f"{[(r['name'], r['state_type']) for r in runs]}; processes exited "
            f"{self.processes.exited()}"
        )
