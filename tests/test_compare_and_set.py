"""The compare-and-set on its own, with the lock taken out of the picture.

The race tests (tests/test_concurrency.py) pass even without ``version = :seen`` in the CAS
UPDATE: SQLite's ``BEGIN IMMEDIATE`` and PostgreSQL's ``FOR UPDATE`` serialise the writers
before the UPDATE runs. The CAS is the defence for the day a lock is missing (a new code path,
a read replica, another isolation level), so here two writers read the same version without
any lock, in a fixed order — both read, then both write — and exactly one may commit.

Checked by mutation: with ``table_of(Placement).c.version == bindparam("_seen")`` removed from
``_COMPARE_AND_SET`` in states/lifecycle/writing.py, every test below fails (the second writer's
UPDATE matches, and its history row collides with the first's instead of an AlreadyDecided).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from models import HistoryEntry, Placement
from states.bootstrap import App
from states.errors import AlreadyDecided
from states.lifecycle.loading import COLLECTIONS, load_for_update
from states.lifecycle.transitions import apply_event_in
from tests.conftest import load_examples
from tests.test_machine import REGISTERED, register

# Pairs of people acting on one placement waiting for its managers' approval.
PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "both approvers": (
        {"event": "approve", "role": "home_manager"},
        {"event": "approve", "role": "host_contact"},
    ),
    "approval and withdrawal": (
        {"event": "approve", "role": "host_contact"},
        {"event": "withdraw", "role": None, "comment": "changed plans"},
    ),
    "decline and approval": (
        {"event": "decline", "role": "home_manager", "comment": "not now"},
        {"event": "approve", "role": "host_contact"},
    ),
}


def _read_unlocked(app: App, ref: str) -> Placement:
    """The placement as ``load_for_update`` loads it, in a read-only transaction of its own
    and without ``FOR UPDATE``: a copy of one version, held by nobody."""
    with app.reading() as uow:
        return load_for_update(uow.session, ref, lock=False, collections=COLLECTIONS)


def _write(app: App, ref: str, placement: Placement, action: dict[str, Any]) -> None:
    """Apply ``action`` to the copy read earlier, in a transaction of its own."""
    with app.uow() as uow:
        uow.session.add(placement)  # the copy joins this transaction as it was read
        apply_event_in(
            uow,
            reference=ref,
            actor=action["role"] or "coordinator",
            via="link",
            as_of=REGISTERED,
            placement=placement,
            **action,
        )
        uow.commit()


def _history(app: App, ref: str) -> list[tuple[int, str]]:
    with app.reading() as uow:
        return [
            (row.version, row.event)
            for row in uow.session.execute(
                select(HistoryEntry.version, HistoryEntry.event)
                .join(Placement, Placement.id == HistoryEntry.placement_id)
                .where(Placement.reference == ref)
                .order_by(HistoryEntry.version)
            )
        ]


def _version(app: App, ref: str) -> int:
    with app.reading() as uow:
        return uow.session.scalars(
            select(Placement.version).where(Placement.reference == ref)
        ).one()


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_two_writers_of_the_same_version_one_commits_the_other_is_told(
    any_app: App, pair: str
) -> None:
    load_examples(any_app)
    ref = register(any_app)
    first_action, second_action = PAIRS[pair]
    seen = _version(any_app, ref)
    first, second = _read_unlocked(any_app, ref), _read_unlocked(any_app, ref)
    assert first.version == second.version == seen

    _write(any_app, ref, first, first_action)
    with pytest.raises(AlreadyDecided, match="already decided by someone else"):
        _write(any_app, ref, second, second_action)

    history = _history(any_app, ref)
    assert history[-1] == (seen + 1, first_action["event"])
    assert [version for version, _ in history] == list(range(1, seen + 2))  # one row added
    assert _version(any_app, ref) == seen + 1


@pytest.mark.postgres
def test_two_open_transactions_interleaved_on_postgres_one_commits(postgres_app: App) -> None:
    """On PostgreSQL both transactions are open at once, as two requests would be: A reads,
    B reads, A writes and commits, then B writes in its still-open transaction (READ
    COMMITTED: its UPDATE sees A's row, and the version it read no longer matches)."""
    app = postgres_app
    load_examples(app)
    ref = register(app)
    seen = _version(app, ref)
    first_uow, second_uow = app.uow(), app.uow()
    with first_uow, second_uow:
        first = load_for_update(first_uow.session, ref, lock=False, collections=COLLECTIONS)
        second = load_for_update(second_uow.session, ref, lock=False, collections=COLLECTIONS)
        assert first.version == second.version == seen
        apply_event_in(
            first_uow,
            reference=ref,
            event="approve",
            role="home_manager",
            actor="home_manager",
            via="link",
            as_of=REGISTERED,
            placement=first,
        )
        first_uow.commit()
        with pytest.raises(AlreadyDecided):
            apply_event_in(
                second_uow,
                reference=ref,
                event="withdraw",
                role=None,
                comment="changed plans",
                actor="coordinator",
                via="link",
                as_of=REGISTERED,
                placement=second,
            )
    with app.reading() as uow:
        count = uow.session.scalar(
            select(func.count())
            .select_from(HistoryEntry)
            .join(Placement, Placement.id == HistoryEntry.placement_id)
            .where(Placement.reference == ref)
        )
    assert count == seen + 1
    assert _history(app, ref)[-1] == (seen + 1, "approve")
