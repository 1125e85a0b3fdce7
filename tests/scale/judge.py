"""The invariants of the scale-out proof, each counted, printed and judged (a list of failures:
every invariant is printed even when an earlier one failed)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from models import HistoryEntry, OutboxMessage, Person, Placement
from states.bootstrap import App
from states.lifecycle.machine import FINAL_STATES
from tests.scale import oracle
from tests.scale.driver import ERROR_LINE, Driver
from tests.scale.load import COORDINATOR, PROGRAMME, proposal
from tests.smtp_server import SmtpTestServer
from tests.test_stateful import ALLOWED_STEPS


def _replays(rows: list[HistoryEntry], state: str) -> bool:
    """The history starts at registration, each step is one the machine allows from the
    state before it, the versions run 1, 2, 3 … and it ends in the placement's state."""
    if not rows or (rows[0].event, rows[0].from_state, rows[0].to_state) != (
        "register",
        None,
        "proposal",
    ):
        return False
    current = "proposal"
    for row in rows[1:]:
        if (
            row.from_state != current
            or (row.from_state, row.event, row.to_state) not in ALLOWED_STEPS
        ):
            return False
        current = row.to_state
    return current == state and [r.version for r in rows] == list(range(1, len(rows) + 1))


EXECUTED = re.compile(r"Flow run '[^']+' submitted to infrastructure")
ABORTED = re.compile(r"Aborted submission of flow run")


def _rules() -> oracle.Rules:
    reminders, evaluation = PROGRAMME["reminders"], PROGRAMME["evaluation"]
    return oracle.Rules(
        approvers=tuple(PROGRAMME["approvals"]),
        parties=tuple(PROGRAMME["agreement"]["parties"]),
        respondents=tuple(evaluation["respondents"]),
        first_after=reminders["first_after"],
        repeat_every=reminders["repeat_every"],
        escalate_after=reminders["escalate_after"],
        notice_days=PROGRAMME.get("start_notice", {}).get("business_days_before", 2),
        welcome=PROGRAMME.get("start_notice", {}).get("welcome", False),
    )


def _load(app: App) -> tuple[list[tuple[int, str, str]], dict[int, list[HistoryEntry]]]:
    participant = aliased(Person)
    with app.reading() as uow:
        placements = [
            (row.id, row.state, row.email)
            for row in uow.session.execute(
                select(Placement.id, Placement.state, participant.email)
                .join(participant, participant.id == Placement.participant_id)
                .order_by(Placement.id)
            )
        ]
        history: dict[int, list[HistoryEntry]] = {}
        for entry in uow.session.scalars(
            select(HistoryEntry).order_by(HistoryEntry.placement_id, HistoryEntry.version)
        ):
            history.setdefault(entry.placement_id, []).append(entry)
    return placements, history


def _oracle_placement(pid: int, email: str, rows: list[HistoryEntry]) -> oracle.Placement:
    """People and dates from the proposal file the load generator registered, by number."""
    n = int(email.removeprefix("participant").split("@")[0])
    source = proposal(n, oracle.local_day(rows[0].at))
    people = oracle.People(
        participant=str(source.participant.email),
        home_manager=str(source.home_manager.email),
        host_contact=str(source.host_contact.email),
        coordinator=COORDINATOR,
    )
    history = [
        oracle.Row(r.version, r.event, r.from_state, r.to_state, r.actor, r.at) for r in rows
    ]
    return oracle.Placement(pid, people, source.start, source.end, history)


def _cancelled(app: App) -> Counter[oracle.Expected]:
    """Emails the delivery held back because their link was already dead."""
    with app.reading() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.placement_id, OutboxMessage.kind, OutboxMessage.to_email).where(
                OutboxMessage.status == "cancelled"
            )
        ).all()
    return Counter((r.placement_id, r.kind, r.to_email) for r in rows)


def _received(app: App, smtp: SmtpTestServer) -> tuple[Counter[oracle.Expected], Counter[str]]:
    messages = smtp.messages
    ids = Counter(str(m["Message-ID"]) for m in messages)
    with app.reading() as uow:
        labels = {
            row.message_id: (row.placement_id, row.kind)
            for row in uow.session.execute(
                select(OutboxMessage.message_id, OutboxMessage.placement_id, OutboxMessage.kind)
            )
        }
    received: Counter[oracle.Expected] = Counter()
    seen: set[str] = set()
    for message in messages:
        message_id = str(message["Message-ID"])
        if message_id in seen:
            continue
        seen.add(message_id)
        placement_id, kind = labels.get(message_id, (None, "not in the outbox"))
        to = message["To"].addresses[0].addr_spec
        received[(placement_id, kind, to)] += 1
    return received, ids


def _log_errors(driver: Driver, logs: dict[str, str]) -> tuple[list[str], Counter[str]]:
    """Error lines outside every fault window, and how many each fault window holds."""
    outside: list[str] = []
    during: Counter[str] = Counter()
    for name, content in logs.items():
        position = 0
        for line in content.splitlines(keepends=True):
            start, position = position, position + len(line.encode())
            if not ERROR_LINE.search(line):
                continue
            window = next(
                (
                    w.label
                    for w in driver.windows
                    if w.start.get(name, 0) <= start < w.end.get(name, 1 << 62)
                ),
                None,
            )
            if window is None:
                outside.append(f"{name}: {line.strip()[:300]}")
            else:
                during[window] += 1
    return outside, during


def judge(
    driver: Driver,
    app: App,
    smtp: SmtpTestServer,
    logs: dict[str, str],
    exited: dict[str, int],
    *,
    prefect_runs: list[dict[str, Any]],
    placements: int,
    say: Callable[[str], None] = print,
) -> list[str]:
    failures: list[str] = []

    def check(ok: bool, line: str) -> None:
        say(f"  {'ok ' if ok else 'FAIL'} {line}")
        if not ok:
            failures.append(line)

    registered, history = _load(app)
    states = Counter(state for _, state, _ in registered)
    say(f"\nscale-out on Prefect: {len(registered)} placements, {len(driver.sweeps)} sweep days")
    check(len(registered) == placements, f"placements registered: {len(registered)}")
    not_final = [pid for pid, state, _ in registered if state not in FINAL_STATES]
    check(
        not not_final,
        f"placements in a final state: {len(registered) - len(not_final)} "
        f"{dict(sorted(states.items()))}",
    )
    broken = [pid for pid, state, _ in registered if not _replays(history.get(pid, []), state)]
    check(
        not broken,
        f"histories replaying through allowed transitions: {len(registered) - len(broken)} "
        f"(broken {broken[:5]})",
    )

    prefect_sweeps = sorted(
        r["parameters"]["as_of"]
        for r in prefect_runs
        if r["deployment_id"] == driver.stack.deployments["sweep"]
        and r["state_type"] == "COMPLETED"
    )
    check(
        len(prefect_sweeps) == len(driver.sweeps),
        f"sweep runs completed on the workers: {len(prefect_sweeps)}",
    )
    model = [_oracle_placement(pid, email, history[pid]) for pid, _, email in registered]
    expected = oracle.Oracle(_rules(), model).run(driver.sweeps)
    received, ids = _received(app, smtp)
    cancelled = _cancelled(app)
    by_id = {p.id: p for p in model}
    unexplained = [
        c for c in cancelled if c[0] is None or not oracle.may_be_cancelled(by_id[c[0]], c[1])
    ]
    check(
        not unexplained,
        f"held back, their link dead before delivery: {sum(cancelled.values())} "
        f"(not explained by the history: {unexplained[:5]})",
    )
    duplicates = sum(count - 1 for count in ids.values())
    missing, unexpected = expected - received - cancelled, received - expected
    kinds = Counter(kind for _, kind, _ in expected.elements())
    say(f"  oracle: {sum(expected.values())} emails expected: {dict(sorted(kinds.items()))}")
    check(
        not missing,
        f"expected and not received: {sum(missing.values())} {list(missing.items())[:5]}",
    )
    check(
        not unexpected,
        f"received and not expected: {sum(unexpected.values())} {list(unexpected.items())[:5]}",
    )
    check(
        duplicates == 0,
        f"received {sum(ids.values())}, distinct Message-IDs {len(ids)}, duplicates {duplicates}",
    )

    with app.reading() as uow:
        outbox = Counter(uow.session.scalars(select(OutboxMessage.status)))
    moving = [
        r["name"]
        for r in prefect_runs
        if r["state_type"] not in {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
    ]
    quiet = (
        outbox["pending"] == outbox["sending"] == 0 and not moving and driver.generator.busy() == 0
    )
    check(
        quiet and not exited,
        f"quiescence: outbox {dict(outbox)}, runs unfinished {moving}, POSTs in flight "
        f"{driver.generator.busy()}, processes exited {exited}",
    )
    check(
        outbox["dead"] == 0 and not driver.generator.unexpected,
        f"dead emails {outbox['dead']}, unexpected answers {driver.generator.unexpected[:5]}",
    )

    runs = Counter((deployment, state) for deployment, _, state, _ in driver.runs)
    bad_runs = [(d, s, m[:200]) for d, _, s, m in driver.runs if s != "COMPLETED"]
    check(not bad_runs, f"flow runs: {dict(runs)} (not completed: {bad_runs[:3]})")
    executed = {
        name.removesuffix("-0.log"): len(EXECUTED.findall(content))
        for name, content in logs.items()
        if name.startswith("worker-")
    }
    aborted = sum(len(ABORTED.findall(content)) for content in logs.values())
    check(
        sum(executed.values()) == len(driver.runs) and all(executed.values()),
        f"runs executed per worker: {executed} of {len(driver.runs)}; a run both workers "
        f"reached for and the server gave to one: {aborted}",
    )
    check(
        set(driver.timings) >= {"prefect server down", "pg_terminate_backend"},
        f"faults injected: {sorted(set(driver.timings) - {'prefect server start'})}",
    )

    outside, during = _log_errors(driver, logs)
    check(
        not outside,
        f"error lines outside the fault windows: {len(outside)} {outside[:5]}; "
        f"inside them: {dict(during)}",
    )
    say(
        f"  link POSTs by answer: {dict(driver.generator.answers)}; withdrawals racing "
        f"approvals: {dict(driver.generator.withdraw_races)}"
    )
    for fault, timing in driver.timings.items():
        say(f"  {fault}: {timing}")
    return failures
