"""Idempotency at scale: the same sweep twice, two sweeps in parallel threads on SQLite and in
parallel processes on PostgreSQL, over 1,000 placements → 0 duplicate emails."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Approval, OutboxMessage, Person, Placement
from models.db import get_engine
from states.bootstrap import App
from states.calendar.batches import SweepReport
from states.calendar.sweep import run_sweep
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.outbox import queue_message
from tests.conftest import EXAMPLES, load_examples, make_app
from tests.test_reminders import at

PLACEMENTS = 1000
SENT = at(date(2027, 3, 24), 9)
SWEEP_AT = at(date(2027, 4, 7))  # 8 business days later: reminder 2 and escalation both due


def _register_many(app: App, count: int = PLACEMENTS) -> None:
    """One proposal through the service, then ``count - 1`` copies of its rows in bulk (the
    service takes ~10 ms a placement; these tests are about the sweep, not registration)."""
    load_examples(app)
    proposal = load_proposals(EXAMPLES / "proposal.yaml")[0]
    register_proposals(app.uow(), proposals=[proposal], actor="sara", via="cli", as_of=SENT)
    with app.uow() as uow:
        session = uow.session
        model = session.scalars(select(Placement)).one()
        approvals = list(session.scalars(select(Approval)))
        people = {p.id: p for p in session.scalars(select(Person))}
        columns = {
            c.key: getattr(model, c.key)
            for c in Placement.__table__.columns
            if c.key not in ("id", "reference", "participant_id")
        }
        participants = [
            Person(
                email=f"participant{n}@verktyg.example",
                name=f"Participant {n}",
                language="sv",
                created_at=SENT,
            )
            for n in range(1, count)
        ]
        session.add_all(participants)
        session.flush()
        placements = [
            Placement(reference=f"PL-2027-{n + 1:05d}", participant_id=person.id, **columns)
            for n, person in enumerate(participants, start=1)
        ]
        session.add_all(placements)
        session.flush()
        new_approvals = [
            Approval(
                placement_id=placement.id,
                round=a.round,
                role=a.role,
                person_id=a.person_id,
                requested_at=a.requested_at,
            )
            for placement in placements
            for a in approvals
        ]
        session.add_all(new_approvals)
        session.flush()
        tokens = [
            uow.config.minter.mint(
                placement_id=a.placement_id,
                person_id=a.person_id,
                purpose="approval",
                subject_id=a.id,
                now=SENT,
            )
            for a in new_approvals
        ]
        session.add_all(tokens)
        session.flush()
        for token in tokens:
            message = queue_message(
                uow,
                kind="approval_request",
                person=people[token.person_id],
                placement=None,
                now=SENT,
                token=token,
                language="sv",
            )
            message.placement_id = token.placement_id
        session.flush()
        uow.commit()


@pytest.fixture(scope="session")
def thousand_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 placements waiting for two approvers each, built once per session."""
    folder = tmp_path_factory.mktemp("thousand")
    path = folder / "thousand.db"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}", folder / "var")
    _register_many(app)
    app.engine.dispose()
    get_engine.cache_clear()
    return path


@pytest.fixture
def thousand(thousand_template: Path, tmp_path: Path) -> App:
    path = tmp_path / "mobility.db"
    shutil.copy(thousand_template, path)
    return make_app(f"sqlite:///{path}", tmp_path / "var")


def assert_no_duplicates(app: App) -> None:
    with app.reading() as uow:
        rows = uow.session.execute(
            select(
                OutboxMessage.kind,
                OutboxMessage.to_email,
                OutboxMessage.placement_id,
                OutboxMessage.context,
                OutboxMessage.dedupe_key,
            )
        ).all()
    per_recipient = Counter((kind, email, placement) for kind, email, placement, _, _ in rows)
    duplicates = {key: n for key, n in per_recipient.items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} duplicate emails"
    kinds = Counter(kind for kind, *_ in rows)
    assert kinds == {
        "approval_request": 2 * PLACEMENTS,
        "approval_reminder": 2 * PLACEMENTS,
        "escalation_digest": 1,
    }
    keys = Counter(key for *_, key in rows if key is not None)
    assert max(keys.values()) == 1
    cases = [c["reference"] for *_, context, _ in rows for c in context.get("cases", [])]
    assert len(cases) == len(set(cases)) == PLACEMENTS


def _merged(*reports: SweepReport) -> Counter[str]:
    total: Counter[str] = Counter()
    for report in reports:
        assert report.failures == []
        total.update(report.counts)
    return total


def test_sweep_twice_at_the_same_moment_over_1000_placements(thousand: App) -> None:
    first = run_sweep(thousand.uow, as_of=SWEEP_AT)
    second = run_sweep(thousand.uow, as_of=SWEEP_AT)
    assert first.counts == {
        "approval_reminder": 2000,
        "escalation_digest": 1,
        "escalated_cases": 1000,
    }
    assert second.total == 0
    assert_no_duplicates(thousand)


def test_two_sweeps_in_parallel_threads_on_sqlite_send_nothing_twice(thousand: App) -> None:
    barrier = threading.Barrier(2)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            reports.append(run_sweep(thousand.uow, as_of=SWEEP_AT))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    totals = _merged(*reports)
    assert totals["approval_reminder"] == 2000 and totals["escalation_digest"] == 1
    assert_no_duplicates(thousand)


def _sweep_in_process(url: str, var_dir: str, as_of: str, barrier: object) -> None:
    app = make_app(url, Path(var_dir))
    barrier.wait()  # type: ignore[attr-defined]
    report = run_sweep(app.uow, as_of=datetime.fromisoformat(as_of))
    assert report.failures == [], report.failures


@pytest.mark.postgres
def test_two_sweeps_in_parallel_processes_on_postgres_send_nothing_twice(
    postgres_app: App, tmp_path: Path
) -> None:
    _register_many(postgres_app)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    url = postgres_app.engine.url.render_as_string(hide_password=False)
    processes = [
        context.Process(
            target=_sweep_in_process,
            args=(url, str(tmp_path / "var"), SWEEP_AT.isoformat(), barrier),
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0, 0]
    assert_no_duplicates(postgres_app)
