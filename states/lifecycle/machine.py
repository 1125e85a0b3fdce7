"""The placement lifecycle as a state machine; the ``Placement`` row is its model.

Guards read the row (its approvals, acceptances and evaluation responses must be loaded)
and the keyword arguments of the event: ``role`` (who acts) and ``as_of`` (when). Who still has
to act in a step is the step registry's rule (``states.lifecycle.steps``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from statemachine import State, StateMachine

from states.lifecycle import period
from states.lifecycle.steps import AGREEMENT, APPROVAL, EVALUATION, Step

if TYPE_CHECKING:
    from models import Placement


def _day(as_of: datetime | date) -> date:
    return as_of.date() if isinstance(as_of, datetime) else as_of


def _last_to_act(step: Step, placement: Placement, role: str | None) -> bool:
    """Nobody but ``role`` (if anyone) still has to act in ``step``: their act ends it."""
    return {row.role for row in step.pending_rows(placement)} <= {role}


class PlacementMachine(StateMachine):
    proposal = State(initial=True)
    manager_approval = State()
    agreement = State()
    placement = State()
    evaluation = State()
    completed = State(final=True)
    declined = State(final=True)
    withdrawn = State(final=True)
    cancelled = State(final=True)

    revise = proposal.to.itself(internal=True)
    submit = proposal.to(manager_approval)
    approve = manager_approval.to(agreement, cond="last_approval") | manager_approval.to.itself(
        internal=True
    )
    decline = manager_approval.to(declined)
    request_changes = manager_approval.to(proposal)
    accept = agreement.to(placement, cond="last_acceptance") | agreement.to.itself(internal=True)
    amend = agreement.to.itself(internal=True)
    end = placement.to(evaluation, cond="has_ended")
    answer = evaluation.to(completed, cond="last_answer") | evaluation.to.itself(internal=True)
    close = evaluation.to(completed, cond="evaluation_due")
    withdraw = (
        proposal.to(withdrawn)
        | manager_approval.to(withdrawn)
        | agreement.to(withdrawn)
        | placement.to(withdrawn, unless="has_started")
    )
    cancel = placement.to(cancelled, cond="has_started")

    model: Placement

    def last_approval(self, role: str | None = None, **_: Any) -> bool:
        return _last_to_act(APPROVAL, self.model, role)

    def last_acceptance(self, role: str | None = None, **_: Any) -> bool:
        return _last_to_act(AGREEMENT, self.model, role)

    def last_answer(self, role: str | None = None, **_: Any) -> bool:
        return _last_to_act(EVALUATION, self.model, role)

    def has_started(self, as_of: datetime, **_: Any) -> bool:
        return period.has_started(self.model.start_date, _day(as_of))

    def has_ended(self, as_of: datetime, **_: Any) -> bool:
        return period.has_ended(self.model.end_date, _day(as_of))

    def evaluation_due(self, as_of: datetime, **_: Any) -> bool:
        due = self.model.evaluation_due_on
        return due is not None and _day(as_of) >= due


STATES: tuple[str, ...] = tuple(s.value for s in PlacementMachine.states)
FINAL_STATES: frozenset[str] = frozenset(s.value for s in PlacementMachine.final_states)
EVENTS: tuple[str, ...] = tuple(e.id for e in PlacementMachine.events)  # type: ignore[attr-defined]


def events_from(state: str) -> frozenset[str]:
    """Events that have at least one transition out of ``state``, whatever the guards say."""
    source = PlacementMachine.states_map[state]
    return frozenset(event.id for t in source.transitions for event in t.events)
