"""Scale-out proof on PostgreSQL: 3 delivery workers, 2 sweep workers and 2 web processes run at
once while a load generator registers 2,000 placements and drives their emailed links over 30
days of simulated calendar (one day a second). Afterwards every placement's history replays to
its state, every email that should exist was received exactly once (by Message-ID), none that
should not was received, and no process logged an error.

Run by ``make test-scale`` (and ``.ci/run``); needs MOBILITY_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from models import HistoryEntry, OutboxMessage, Placement, Programme
from models.schemas import PersonIn, ProgrammeIn, ProposalIn
from notifications.delivery import deliver_due_sync
from states.bootstrap import App
from states.errors import MobilityError
from states.intake.registration import register_programme, register_proposals
from states.lifecycle.evaluation import questions_for
from states.lifecycle.transitions import apply_event
from tests.scale.clock import FileClock
from tests.smtp_server import SmtpTestServer, free_port

pytestmark = [pytest.mark.scale, pytest.mark.postgres]

PLACEMENTS = 2000
SIMULATED_DAYS = 30
SECONDS_PER_DAY = 1.0
QUIESCE_SECONDS = 300
ROOT = Path(__file__).resolve().parents[2]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
SIM_START = datetime(2027, 3, 1, 8, 0, tzinfo=STOCKHOLM)
LINK = re.compile(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]{43}")
ANSWERED_KINDS = {
    "approval_request",
    "approval_reminder",
    "agreement_request",
    "agreement_reminder",
    "evaluation_request",
    "evaluation_reminder",
    "checkin_request",
}


def _programme() -> ProgrammeIn:
    return ProgrammeIn.model_validate(
        {
            "key": "scale-2027",
            "name": "Scale 2027",
            "direction": "outgoing",
            "language": "sv",
            "coordinator": {"name": "Kim Koordinator", "email": "kim@univ.example"},
            "budget_sek": 100_000_000,
            "approvals": ["home_manager", "host_contact"],
            "agreement": {
                "template": "secondment",
                "parties": ["participant", "home_manager", "host_contact"],
            },
            "reminders": {"first_after": 2, "repeat_every": 2, "escalate_after": 4},
            "evaluation": {"respondents": ["participant", "host_contact"], "due_after": 5},
        }
    )


def _proposal(n: int) -> ProposalIn:
    start = SIM_START.date() + timedelta(days=7 + n % 5)
    return ProposalIn(
        programme="scale-2027",
        participant=PersonIn(
            name=f"Deltagare {n}",
            email=f"participant{n}@univ.example",
            language="sv" if n % 3 else "en",
        ),
        home_organisation=f"Institution {n % 25}",
        home_manager=PersonIn(name=f"Chef {n % 150}", email=f"manager{n % 150}@univ.example"),
        host_organisation=f"Värd {n % 400} AB",
        host_contact=PersonIn(
            name=f"Kontakt {n % 400}", email=f"host{n % 400}@host.example", language="en"
        ),
        start=start,
        end=start + timedelta(days=14),
        extent_percent=20,
        purpose="Scale test placement.",
        value_for_home="Cases.",
        value_for_host="Review.",
    )


class LoadGenerator:
    """Reads what the SMTP server received and acts on each link as its recipient would."""

    def __init__(self, app: App, smtp: SmtpTestServer, web_ports: list[int], clock: FileClock):
        self.app = app
        self.smtp = smtp
        self.web_ports = web_ports
        self.clock = clock
        self.seen = 0
        self.answers: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.withdraw_races: Counter[str] = Counter()
        self.pool = ThreadPoolExecutor(max_workers=16)
        # Idle connections are dropped by the client before uvicorn's 5 s keep-alive ends: a
        # request sent on a connection the server is closing fails with a ReadError unanswered.
        limits = httpx.Limits(keepalive_expiry=2.0)
        self.clients = [httpx.Client(timeout=30, limits=limits) for _ in web_ports]
        self.random = random.Random(2027)
        with app.reading() as uow:
            programme = uow.session.scalars(
                select(Programme).where(Programme.key == "scale-2027")
            ).one()
            self.forms = {
                (kind, language): self._form(programme, kind, language)
                for kind in ("evaluation", "checkin")
                for language in ("sv", "en")
            }

    @staticmethod
    def _form(programme: Programme, kind: str, language: str) -> dict[str, str]:
        values = {"scale": "4", "yesno": "yes", "text": "Det gick bra."}
        form: dict[str, str] = {}
        for question in questions_for(programme, role="participant", language=language, kind=kind):
            if question.kind in ("multi", "choice"):
                form[question.key] = question.options[0][0]
            else:
                form[question.key] = values[question.kind]
        return form

    def _post(self, link: str, data: dict[str, str]) -> None:
        port_index = self.random.randrange(len(self.web_ports))
        url = re.sub(r":\d+/", f":{self.web_ports[port_index]}/", link, count=1)
        try:
            response = self.clients[port_index].post(url, data=data)
        except httpx.HTTPError as error:
            self.unexpected.append(f"{type(error).__name__} on POST")
            return
        self.answers[str(response.status_code)] += 1
        if response.status_code not in (200, 410):
            self.unexpected.append(f"{response.status_code} on POST {data.get('decision')}")

    def _withdraw(self, reference: str) -> None:
        try:
            apply_event(
                self.app.uow(),
                reference=reference,
                event="withdraw",
                actor="kim",
                via="cli",
                comment="Raced an approval on purpose",
                as_of=self.clock(),
            )
            self.withdraw_races["withdraw won"] += 1
        except MobilityError:
            self.withdraw_races["withdraw refused"] += 1

    def step(self) -> None:
        messages = self.smtp.messages
        fresh, self.seen = messages[self.seen :], len(messages)
        if not fresh:
            return
        ids = [str(m["Message-ID"]) for m in fresh]
        with self.app.reading() as uow:
            rows = {
                row.message_id: row
                for row in uow.session.scalars(
                    select(OutboxMessage).where(OutboxMessage.message_id.in_(ids))
                )
            }
            references = {
                pid: reference
                for pid, reference in uow.session.execute(
                    select(Placement.id, Placement.reference).where(
                        Placement.id.in_({r.placement_id for r in rows.values() if r.placement_id})
                    )
                )
            }
        for message, message_id in zip(fresh, ids, strict=True):
            row = rows.get(message_id)
            if row is None or row.kind not in ANSWERED_KINDS or row.placement_id is None:
                continue
            body = message.get_body(preferencelist=("plain",))
            found = LINK.search(body.get_content() if body else "")
            if found is None:
                self.unexpected.append(f"no link in {row.kind}")
                continue
            link, number = found.group(0), row.placement_id
            role = row.context.get("recipient_role")
            if row.kind.startswith("approval"):
                decline = number % 10 == 0 and role == "home_manager"
                data = (
                    {"decision": "decline", "comment": "Not this term."}
                    if decline
                    else {"decision": "approve", "comment": ""}
                )
                if number % 20 == 5 and role == "host_contact":
                    self.pool.submit(self._withdraw, references[number])
                self.pool.submit(self._post, link, data)
            elif row.kind.startswith("agreement"):
                self.pool.submit(self._post, link, {"decision": "accept"})
            elif row.kind.startswith("evaluation"):
                self.pool.submit(self._post, link, self.forms[("evaluation", row.language)])
            else:
                self.pool.submit(self._post, link, self.forms[("checkin", row.language)])

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for client in self.clients:
            client.close()


def _wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _busy(app: App) -> bool:
    with app.reading() as uow:
        return (
            uow.session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.status.in_(("pending", "sending")))
                .limit(1)
            )
            is not None
        )


def _quiesce(app: App, generator: LoadGenerator, *, deadline: float) -> None:
    """Keep acting on mail until the outbox is empty and nothing new arrived for 3 seconds."""
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        before = generator.seen
        generator.step()
        if generator.seen != before or _busy(app):
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 3:
            return
        time.sleep(0.2)


def _replays(history: list[HistoryEntry], placement: Placement) -> bool:
    if [h.version for h in history] != list(range(1, placement.version + 1)):
        return False
    if history[0].event != "register" or history[0].to_state != "proposal":
        return False
    if any(b.from_state != a.to_state for a, b in itertools.pairwise(history)):
        return False
    return history[-1].to_state == placement.state


def test_scale_out(postgres_app: App, postgres_database: str, tmp_path: Path) -> None:
    app = postgres_app
    register_programme(app.uow(), programme=_programme())
    smtp = SmtpTestServer().start()
    clock = FileClock(tmp_path / "clock")
    clock.set(SIM_START)
    stop = tmp_path / "stop"
    web_ports = [free_port(), free_port()]
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": postgres_database,
        "MOBILITY_SMTP_HOST": "127.0.0.1",
        "MOBILITY_SMTP_PORT": str(smtp.port),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
        "MOBILITY_BASE_URL": f"http://127.0.0.1:{web_ports[0]}",
        # Leases run on the simulated clock, which jumps a day a second here: a lease shorter
        # than the simulated month would expire under live senders. No sender dies in this test
        # (the SIGKILL fault test covers expiring leases).
        "MOBILITY_DELIVERY_LEASE_SECONDS": str(60 * 86400),
        "PYTHONPATH": str(ROOT),
    }
    roles = [("deliver", None)] * 3 + [("sweep", None)] * 2 + [("web", p) for p in web_ports]
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    for number, (role, port) in enumerate(roles):
        log_path = tmp_path / f"{role}-{number}.log"
        command = [sys.executable, "-m", "tests.scale.worker", role, str(clock.path), str(stop)]
        if port is not None:
            command.append(str(port))
        with log_path.open("wb") as log_file:
            processes.append(
                (
                    f"{role}-{number}",
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
                    ),
                    log_path,
                )
            )
    generator = None
    try:
        deadline = time.monotonic() + 60
        for port in web_ports:
            _wait_for(f"http://127.0.0.1:{port}/healthz", deadline)
        generator = LoadGenerator(app, smtp, web_ports, clock)

        for first in range(0, PLACEMENTS, 100):  # a call deadline: everything arrives at once
            register_proposals(
                app.uow(),
                proposals=[_proposal(n) for n in range(first, first + 100)],
                actor="kim",
                via="cli",
                as_of=clock(),
            )
            generator.step()
        started = time.monotonic()
        day = 0
        while day < SIMULATED_DAYS:
            generator.step()
            day = min(int((time.monotonic() - started) / SECONDS_PER_DAY), SIMULATED_DAYS)
            clock.set(SIM_START + timedelta(days=day))
            time.sleep(0.1)
        _quiesce(app, generator, deadline=time.monotonic() + QUIESCE_SECONDS)
    finally:
        stop.touch()
        for name, process, _ in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"{name} did not stop")
        if generator is not None:
            generator.close()

    # Deliver what the last actions queued, as the next delivery run would.
    while deliver_due_sync(
        engine=app.engine,
        settings=app.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port}),
        config=app.config,
        now=clock(),
    ).claimed:
        pass
    smtp.stop()

    with app.reading() as uow:
        session = uow.session
        placements = list(session.scalars(select(Placement).order_by(Placement.id)))
        history: dict[int, list[HistoryEntry]] = {}
        for entry in session.scalars(
            select(HistoryEntry).order_by(HistoryEntry.placement_id, HistoryEntry.version)
        ):
            history.setdefault(entry.placement_id, []).append(entry)
        outbox = list(session.scalars(select(OutboxMessage)))

    received = smtp.message_ids()
    sent = {row.message_id for row in outbox if row.status == "sent"}
    statuses = Counter(row.status for row in outbox)
    states = Counter(p.state for p in placements)
    broken = [p.reference for p in placements if not _replays(history[p.id], p)]
    logs = {name: path.read_text(errors="replace") for name, _, path in processes}
    errors = {
        name: [
            line
            for line in text.splitlines()
            if "Traceback" in line or "ERROR" in line or "CRITICAL" in line
        ]
        for name, text in logs.items()
    }

    print(f"\nscale-out: {len(placements)} placements over {SIMULATED_DAYS} simulated days")
    print(f"  final states: {dict(sorted(states.items()))}")
    print(f"  outbox: {dict(sorted(statuses.items()))}")
    print(
        f"  emails received: {sum(received.values())}, distinct Message-IDs: {len(received)}, "
        f"duplicates: {sum(c - 1 for c in received.values())}"
    )
    print(
        f"  received but never queued as sent: {len(set(received) - sent)}, "
        f"sent but never received: {len(sent - set(received))}"
    )
    print(f"  link POSTs by answer: {dict(generator.answers) if generator else {}}")
    print(f"  withdraws racing approvals: {dict(generator.withdraw_races) if generator else {}}")
    print(f"  histories that do not replay: {len(broken)}")
    print(f"  process log lines with errors: {sum(len(v) for v in errors.values())}")

    assert len(placements) == PLACEMENTS
    assert broken == []
    assert sum(c - 1 for c in received.values()) == 0
    assert set(received) == sent
    assert statuses.get("pending", 0) == statuses.get("sending", 0) == 0
    assert statuses.get("dead", 0) == 0
    assert generator is not None and generator.unexpected == []
    assert {name: lines for name, lines in errors.items() if lines} == {}
    assert {name: p.returncode for name, p, _ in processes if p.returncode} == {}
    assert states["completed"] > 0 and states["declined"] > 0 and states["withdrawn"] > 0
