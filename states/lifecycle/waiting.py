"""A step of one placement that waits for people: who holds it up, and since when. The
sweep's escalation and the follow-up's "waiting longest" both describe cases so.

When a wait is overdue (its first reminder is due) and when it is past escalation live here
too, in business days: the sweep's reminders and the coordinator's lists both ask these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


def reminder_number(waited: int, *, first_after: int, repeat_every: int) -> int:
    """Which reminder is due after ``waited`` business days: 0 (none yet), 1, 2, ..."""
    if not is_overdue(waited, first_after=first_after):
        return 0
    return 1 + (waited - first_after) // repeat_every


def is_overdue(waited: int, *, first_after: int) -> bool:
    """Waited long enough for the first reminder."""
    return waited >= first_after


def is_past_escalation(waited: int, *, escalate_after: int) -> bool:
    """Waited long enough for the coordinator to be told."""
    return waited >= escalate_after


@dataclass(frozen=True)
class Waiter:
    name: str
    role: str
    email: str


@dataclass
class Case:
    """A step of one placement that has waited past its programme's escalation threshold."""

    placement_id: int
    reference: str
    programme: str
    coordinator_id: int
    state: str
    step: str
    step_key: str
    """The step with its round or version (approval-r2): escalated once per step."""
    waiting_since: date
    business_days: int
    waiting_for: list[Waiter] = field(default_factory=list)
    language: str = "sv"
    """The programme's language: the digest's, if the coordinator has chosen none."""

    def as_context(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "programme": self.programme,
            "state": self.state,
            "step": self.step,
            "waiting_since": self.waiting_since.isoformat(),
            "business_days": self.business_days,
            "waiting_for": [w.__dict__ for w in self.waiting_for],
        }
