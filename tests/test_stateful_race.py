"""Two people acting on one placement at once, interleaved by Hypothesis.

Each actor reads the placement (a page shows it) and later acts on what they read; the model
chooses the order of reads and writes. A second rule takes the lock out of the picture: both
actors load the same version without ``FOR UPDATE``, then both write, each in its own unit of
work. After every step: a write on a stale read is refused as AlreadyDecided and leaves no
trace, at most one of two writers of one version wins, and the history replays through the
machine's allowed transitions. On SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

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

from states.bootstrap import App
from states.errors import AlreadyDecided, TransitionRefused
from states.lifecycle.loading import COLLECTIONS, load_for_update
from states.lifecycle.transitions import apply_event, apply_event_in
from tests.conftest import load_examples
from tests.test_machine import REGISTERED, register, snapshot
from tests.test_stateful import ALLOWED_STEPS, assert_history_replays

# What each kind of actor may try, and the pairs who meet on one placement.
EVENTS: dict[str | None, tuple[str, ...]] = {
    "home_manager": ("approve", "decline", "accept"),
    "host_contact": ("approve", "decline", "accept"),
    "participant": ("accept",),
    None: ("withdraw", "cancel"),  # the coordinator
}
PAIRS = (("home_manager", "host_contact"), ("host_contact", None), ("home_manager", None))


def _action(role: str | None, event: str) -> dict[str, Any]:
    comment = "a reason" if event in {"decline", "withdraw", "cancel"} else None
    return {"event": event, "role": role, "actor": role or "coordinator", "comment": comment}


class TwoActors(RuleBasedStateMachine):
    app: App  # set by the test before the run

    def __init__(self) -> None:
        super().__init__()
        self.ref = ""
        self.roles: tuple[str | None, str | None] = (None, None)
        self.seen: dict[int, int] = {}
        self.wins = 0

    @initialize(pair=st.sampled_from(PAIRS))
    def register_a_proposal(self, pair: tuple[str | None, str | None]) -> None:
        self.ref = register(self.app)
        self.roles = pair

    @rule(actor=st.sampled_from((0, 1)))
    def reads(self, actor: int) -> None:
        self.seen[actor] = snapshot(self.app, self.ref).version

    @precondition(lambda self: self.seen)
    @rule(data=st.data())
    def acts_on_what_they_read(self, data: st.DataObject) -> None:
        actor = data.draw(st.sampled_from(sorted(self.seen)), label="actor")
        role = self.roles[actor]
        event = data.draw(st.sampled_from(EVENTS[role]), label="event")
        read = self.seen.pop(actor)
        before = snapshot(self.app, self.ref)
        try:
            apply_event(
                self.app.uow(),
                reference=self.ref,
                via="link",
                expected_version=read,
                as_of=REGISTERED,
                **_action(role, event),
            )
        except TransitionRefused as refused:
            assert snapshot(self.app, self.ref) == before, f"{event} refused, left a trace"
            if read != before.version:
                assert isinstance(refused, AlreadyDecided), str(refused)
            return
        assert read == before.version, "a write on a stale read went through"
        self._won(before, event)

    @rule(first=st.data())
    def both_read_unlocked_then_both_write(self, first: st.DataObject) -> None:
        actions = [
            _action(role, first.draw(st.sampled_from(EVENTS[role]), label=f"event {n}"))
            for n, role in enumerate(self.roles)
        ]
        before = snapshot(self.app, self.ref)
        copies = []
        for _ in actions:
            with self.app.reading() as uow:
                copies.append(
                    load_for_update(uow.session, self.ref, lock=False, collections=COLLECTIONS)
                )
        won = []
        for copy, action in zip(copies, actions, strict=True):
            try:
                with self.app.uow() as uow:
                    uow.session.add(copy)
                    apply_event_in(
                        uow,
                        reference=self.ref,
                        via="link",
                        as_of=REGISTERED,
                        placement=copy,
                        **action,
                    )
                    uow.commit()
                won.append(action["event"])
            except AlreadyDecided as refused:
                # The machine may say so of a step (an approver approving twice); the
                # compare-and-set only of a writer who lost to another.
                assert won or "someone else" not in str(refused), str(refused)
            except TransitionRefused:
                pass
        assert len(won) <= 1, f"two writers of version {before.version} both won: {won}"
        if won:
            self._won(before, won[0])
        else:
            assert snapshot(self.app, self.ref) == before

    def _won(self, before: Any, event: str) -> None:
        after = snapshot(self.app, self.ref)
        assert after.version == before.version + 1 and after.history == before.history + 1
        assert (before.state, event, after.state) in ALLOWED_STEPS
        self.wins += 1

    @invariant()
    def history_replays(self) -> None:
        if self.ref:
            assert_history_replays(self.app, self.ref)


def test_two_actors_interleaved_keep_the_invariants(any_app: App) -> None:
    load_examples(any_app)
    TwoActors.app = any_app
    run_state_machine_as_test(
        TwoActors,
        settings=settings(
            max_examples=10,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
