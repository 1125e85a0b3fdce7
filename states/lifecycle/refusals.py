"""Why an event cannot happen, in the glossary's words: the state the placement is in and what
the event would have done. The message is English, as the command line writes it; the desk
shows the same refusal in its reader's language (``MobilityError.in_language``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from models import Placement
from states.errors import AlreadyDecided, MobilityError, TransitionRefused
from states.glossary import words
from states.lifecycle.machine import EVENTS, FINAL_STATES, events_from

E = TypeVar("E", bound=MobilityError)

# The guards' own reasons (glossary refusals): the event belongs to the state, but not yet or
# no longer.
GUARD_REASONS: Mapping[str, str] = {
    "end": "end_too_early",
    "close": "close_too_early",
    "withdraw": "withdraw_started",
    "cancel": "cancel_not_started",
}


def refused(kind: type[E], key: str, **values: object) -> E:
    """``kind`` raised with the glossary's refusal ``key``: English as its message, every
    language through ``in_language``. ``state`` and ``event`` are keys, worded per language."""

    def said(language: str) -> str:
        glossary = words(language)
        worded = dict(values)
        if "state" in values:
            worded["state"] = glossary.state(str(values["state"]))
        if "event" in values:
            worded["event"] = glossary.event(str(values["event"]))
        return glossary.refusal(key, **worded)

    return kind(said("en"), said=said)


def refusal(placement: Placement, event: str, as_of: datetime) -> TransitionRefused:
    """Why ``event`` cannot happen to ``placement`` now, in words."""
    reference, state = placement.reference, placement.state
    if event not in EVENTS:
        return TransitionRefused(f"unknown event {event!r}")
    if event in events_from(state) and event in GUARD_REASONS:
        return refused(
            TransitionRefused,
            GUARD_REASONS[event],
            reference=reference,
            start=placement.start_date.isoformat(),
            end=placement.end_date.isoformat(),
            due=placement.evaluation_due_on.isoformat() if placement.evaluation_due_on else "?",
        )
    if state in FINAL_STATES:
        return refused(AlreadyDecided, "no_longer", reference=reference, state=state, event=event)
    return refused(TransitionRefused, "not_now", reference=reference, state=state, event=event)


def decided_by_someone_else(reference: str, state: str) -> AlreadyDecided:
    return refused(AlreadyDecided, "decided_by_someone_else", reference=reference, state=state)


def reason_required(event: str) -> TransitionRefused:
    return refused(TransitionRefused, "reason_required", event=event)
