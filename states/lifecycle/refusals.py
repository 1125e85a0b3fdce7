"""Why an event cannot happen, in words a coordinator reads in the CLI (English, from the
glossary): the state the placement is in and what the event would have done."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from models import Placement
from states.errors import AlreadyDecided, TransitionRefused
from states.glossary import words
from states.lifecycle.machine import EVENTS, FINAL_STATES, events_from

# The guards' own reasons: the event belongs to the state, but not yet or no longer.
GUARD_REASONS: Mapping[str, str] = {
    "end": "{ref} cannot end before its last day {end} is over",
    "close": "{ref} cannot be closed before its evaluation is due on {due}",
    "withdraw": "{ref} has started ({start}); cancel it instead of withdrawing it",
    "cancel": "{ref} has not started yet ({start}); withdraw it instead of cancelling it",
}


def state_in_words(state: str) -> str:
    """ "waiting for manager approval": what ``<reference> is …`` says."""
    return words("en").state(state)


def refusal(placement: Placement, event: str, as_of: datetime) -> TransitionRefused:
    """Why ``event`` cannot happen to ``placement`` now, in words."""
    reference, state = placement.reference, placement.state
    if event not in EVENTS:
        return TransitionRefused(f"unknown event {event!r}")
    verb = words("en").event(event)
    if event in events_from(state) and event in GUARD_REASONS:
        return TransitionRefused(
            GUARD_REASONS[event].format(
                ref=reference,
                start=placement.start_date.isoformat(),
                end=placement.end_date.isoformat(),
                due=placement.evaluation_due_on.isoformat() if placement.evaluation_due_on else "?",
            )
        )
    if state in FINAL_STATES:
        return AlreadyDecided(f"{reference} is {state_in_words(state)}; it can no longer be {verb}")
    return TransitionRefused(f"{reference} is {state_in_words(state)}; it cannot be {verb} now")


def decided_by_someone_else(reference: str, state: str) -> AlreadyDecided:
    return AlreadyDecided(
        f"{reference} was already decided by someone else: it is now {state_in_words(state)}"
    )


def reason_required(event: str) -> TransitionRefused:
    return TransitionRefused(f"{words('en').event(event)}: a reason is required")
