"""Many people acting on one placement at the same moment: one wins, the others are told.

Each round lines 20 threads up on a barrier; each read the placement's version first, as a page
or the CLI would, and passes it as ``expected_version``. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from models import AgreementAcceptance, AgreementDocument, HistoryEntry, Placement
from states.bootstrap import App
from states.errors import AlreadyDecided
from states.lifecycle.queries import get_placement
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples
from tests.test_machine import REGISTERED, register

THREADS = 20
ROUNDS = 50
PAIR_ROUNDS = 30

# What the 20 people try: both approvers approve, decline, or the coordinator withdraws.
ACTIONS: tuple[dict[str, Any], ...] = (
    {"event": "approve", "role": "home_manager"},
    {"event": "approve", "role": "host_contact"},
    {"event": "decline", "role": "home_manager", "comment": "not now"},
    {"event": "decline", "role": "host_contact", "comment": "no room"},
    {"event": "withdraw", "role": None, "comment": "changed plans"},
)


@dataclass(frozen=True)
class Outcome:
    won: bool
    error: BaseException | None = None


def _version(app: App, ref: str) -> int:
    """What a page shows and posts back: the version the person saw."""
    with app.reading() as uow:
        return uow.session.scalars(
            select(Placement.version).where(Placement.reference == ref)
        ).one()


def _race(
    pool: ThreadPoolExecutor,
    app: App,
    ref: str,
    actions: list[dict[str, Any]],
    *,
    expected_version: bool,
) -> list[Outcome]:
    barrier = threading.Barrier(len(actions), timeout=60)

    def attempt(action: dict[str, Any]) -> Outcome:
        version = _version(app, ref) if expected_version else None
        barrier.wait()
        try:
            apply_event(
                app.uow(),
                reference=ref,
                actor=action["role"] or "coordinator",
                via="link",
                expected_version=version,
                as_of=REGISTERED,
                **action,
            )
        except Exception as error:  # every failure is judged below
            return Outcome(False, error)
        return Outcome(True)

    return list(pool.map(attempt, actions))


def _count(app: App, ref: str, what: Callable[[int], Any]) -> int:
    with app.reading() as uow:
        placement_id = uow.session.scalars(
            select(Placement.id).where(Placement.reference == ref)
        ).one()
        return uow.session.scalar(what(placement_id)) or 0


def _history(placement_id: int) -> Any:
    return select(func.count()).where(HistoryEntry.placement_id == placement_id)


def test_20_threads_50_rounds_one_winner_each(any_app: App) -> None:
    load_examples(any_app)
    actions = [ACTIONS[i % len(ACTIONS)] for i in range(THREADS)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for number in range(ROUNDS):
            ref = register(any_app)
            outcomes = _race(pool, any_app, ref, actions, expected_version=True)
            winners = [o for o in outcomes if o.won]
            losers = [o.error for o in outcomes if not o.won]
            messages = [str(e) for e in losers]
            assert not any("locked" in m for m in messages), messages
            assert all(isinstance(e, AlreadyDecided) for e in losers), (number, messages)
            assert all("already decided" in m for m in messages), messages
            assert len(winners) == 1, (number, messages)
            # register, submit, and the one change that won.
            assert _count(any_app, ref, _history) == 3


def test_both_approvers_at_once_reach_agreement_exactly_once(any_app: App) -> None:
    load_examples(any_app)
    actions = [ACTIONS[0], ACTIONS[1]]  # home manager and host contact, no expected_version
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(PAIR_ROUNDS):
            ref = register(any_app)
            outcomes = _race(pool, any_app, ref, actions, expected_version=False)
            assert [o.error for o in outcomes] == [None, None]
            detail = get_placement(any_app.reading(), reference=ref)
            assert detail.state == "agreement"
            to_states = [h.to_state for h in detail.history]
            assert to_states == ["proposal", "manager_approval", "manager_approval", "agreement"]
            assert (
                _count(
                    any_app,
                    ref,
                    lambda pid: select(func.count()).where(AgreementDocument.placement_id == pid),
                )
                == 1
            )
            assert (
                _count(
                    any_app,
                    ref,
                    lambda pid: select(func.count()).where(AgreementAcceptance.placement_id == pid),
                )
                == 3
            )
