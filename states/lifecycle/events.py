"""What the lifecycle's events ask of whoever sends them. Plain data: no database, no machine.

The events themselves are the machine's (``states.lifecycle.machine.EVENTS``); this module says
which of them need a reason, and the channels an event may come through.
"""

from __future__ import annotations

EVENTS_NEEDING_REASON: frozenset[str] = frozenset(
    {"decline", "request_changes", "withdraw", "cancel"}
)
"""A person who declines, sends back, withdraws or cancels says why: the transition refuses
the event without a comment, the link page asks for one, the report lists them as reasons."""

VIAS: tuple[str, ...] = ("cli", "link", "flow", "ui", "api", "board")
"""Where an event can come from (``history.via``)."""
