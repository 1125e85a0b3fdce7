"""Random event sequences through the one service, with the lifecycle's invariants after each.

Hypothesis drives a placement with any event, any role and a clock that moves forward by
random amounts; after every step the history must replay to the current state through
transitions the machine allows, and a refused event must leave no trace.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from models import HistoryEntry, Placement
from states.bootstrap import App
from states.errors import AlreadyDecided, TransitionRefused
from states.lifecycle.loading import load_for_update
from states.lifecycle.machine import EVENTS, STATES, PlacementMachine, events_from
from states.lifecycle.queries import waiting_for
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples
from tests.test_machine import REGISTERED, register, snapshot

# The event that moves each open state on, done by whoever the step waits for.
FORWARD = {
    "proposal": "submit",
    "manager_approval": "approve",
    "agreement": "accept",
    "placement": "end",
    "evaluation": "answer",
}
ROLES = (None, "participant", "home_manager", "host_contact", "coordinator")

# (from_state, event, to_state) the machine defines; an internal transition stays in place.
ALLOWED_STEPS: frozenset[tuple[str, str, str]] = frozenset(
    (state.value, event.id, transition.target.value if transition.target else state.value)
    for state in PlacementMachine.states
    for transition in state.transitions
    for event in transition.events
)


class PlacementLifecycle(RuleBasedStateMachine):
    app: App  # set by the test before the run

    def __init__(self) -> None:
        super().__init__()
        self.ref = ""
        self.as_of = REGISTERED
        self.applied = 0

    @initialize(draft=st.booleans())
    def register_a_proposal(self, draft: bool) -> None:
        self.ref = register(self.app, draft=draft)

    def _apply(self, event: str, role: str | None, days: int, stale: bool) -> None:
        self.as_of += timedelta(days=days, hours=days % 7)
        before = snapshot(self.app, self.ref)
        try:
            result = apply_event(
                self.app.uow(),
                reference=self.ref,
                event=event,
                role=role,
                actor=role or "coordinator",
                via="cli",
                comment="because",
                answers={"goals": 3} if event == "answer" else None,
                expected_version=before.version - 1 if stale else before.version,
                as_of=self.as_of,
            )
        except TransitionRefused as refused:
            assert snapshot(self.app, self.ref) == before, f"{event} refused but left a trace"
            assert (
                self.ref in str(refused) or "reason" in str(refused) or "unknown" in str(refused)
            ), str(refused)
            if stale:
                assert isinstance(refused, AlreadyDecided)
            return
        assert not stale, "an event with a stale expected_version went through"
        assert event in events_from(before.state), f"{event} applied in {before.state}"
        after = snapshot(self.app, self.ref)
        assert result.to_state == after.state
        assert (before.state, event, after.state) in ALLOWED_STEPS
        assert after.version == before.version + 1
        assert after.history == before.history + 1
        assert after.outbox >= before.outbox
        self.applied += 1

    @rule(
        event=st.sampled_from(EVENTS),
        role=st.sampled_from(ROLES),
        days=st.integers(0, 90),
        stale=st.booleans(),
    )
    def any_event(self, event: str, role: str | None, days: int, stale: bool) -> None:
        self._apply(event, role, days, stale)

    @precondition(lambda self: self.ref and events_from(self.state()))
    @rule(data=st.data(), role=st.sampled_from(ROLES[1:]), days=st.integers(0, 40))
    def a_likely_event(self, data: st.DataObject, role: str, days: int) -> None:
        # An event the state can take, by anyone: refusals by role and by date get exercised.
        event = data.draw(st.sampled_from(sorted(events_from(self.state()))), label="event")
        self._apply(event, role, days, stale=False)

    @precondition(lambda self: self.ref and self.state() in FORWARD)
    @rule(data=st.data(), days=st.integers(0, 60))
    def someone_waited_for_acts(self, data: st.DataObject, days: int) -> None:
        # The step's own people move it on, so runs get past the first steps of the lifecycle.
        state = self.state()
        with self.app.reading() as uow:
            waiting = waiting_for(load_for_update(uow.session, self.ref, lock=False))
        roles = sorted({line.split(":")[0] for line in waiting} - {"coordinator"}) or [None]
        role = data.draw(st.sampled_from(roles), label="role")
        self._apply(FORWARD[state], role, days, stale=False)

    def state(self) -> str:
        return snapshot(self.app, self.ref).state

    @invariant()
    def history_replays_to_the_current_state(self) -> None:
        if self.ref:
            assert_history_replays(self.app, self.ref)


def assert_history_replays(app: App, ref: str) -> None:
    """The history starts at registration and replays, step by allowed step, to the state."""
    with app.reading() as uow:
        placement = uow.session.scalars(select(Placement).where(Placement.reference == ref)).one()
        rows = uow.session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.placement_id == placement.id)
            .order_by(HistoryEntry.version)
        ).all()
        first, *rest = rows
        assert (first.event, first.from_state, first.to_state) == ("register", None, "proposal")
        state = first.to_state
        for row in rest:
            assert row.from_state == state, f"history breaks at version {row.version}"
            assert (row.from_state, row.event, row.to_state) in ALLOWED_STEPS
            state = row.to_state
        assert state == placement.state
        assert placement.state in STATES
        assert [r.version for r in rows] == list(range(1, placement.version + 1))


def test_random_event_sequences_keep_the_invariants(any_app: App) -> None:
    """On SQLite and, when configured, on PostgreSQL (one database for all the examples:
    each registers a placement of its own)."""
    app = any_app
    load_examples(app)
    PlacementLifecycle.app = app
    run_state_machine_as_test(
        PlacementLifecycle,
        settings=settings(
            max_examples=15,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The runs did reach the end of the lifecycle, not only its first steps.
    with app.reading() as uow:
        reached = set(uow.session.scalars(select(Placement.state).distinct()))
    assert "completed" in reached, reached
