"""A programme as it stood at a moment, told from what was recorded by then.

A report "as of" a moment counts only what had happened by it: the state each placement was
in (the last history row at or before the moment; a placement with none did not exist yet),
the milestones, reasons, reminders and evaluations recorded by then, and the terms as they
read then (a later revision or amendment records what it changed, ``HistoryEntry.terms``, so
the funding and the start are turned back to their values at the moment). Without a moment
the report is of everything recorded, as the database stands.

What is not kept in history is the programme's own settings: its budget is the one it has now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import HistoryEntry


@dataclass(frozen=True)
class Moment:
    """``cutoff`` None: everything recorded counts."""

    cutoff: datetime | None

    def counts(self, at: datetime | None) -> bool:
        """Something recorded ``at`` had happened by the moment (None: it has not happened)."""
        return at is not None and (self.cutoff is None or at <= self.cutoff)

    def history(self, entries: Iterable[HistoryEntry]) -> list[HistoryEntry]:
        return [entry for entry in entries if self.counts(entry.at)]

    def state(self, entries: Sequence[HistoryEntry]) -> str | None:
        """The placement's state at the moment, from its history in version order; None: it
        was not registered yet."""
        state = None
        for entry in entries:
            if self.counts(entry.at):
                state = entry.to_state
        return state

    def term(self, entries: Sequence[HistoryEntry], name: str, now: Any) -> Any:
        """Term ``name`` as it read at the moment: the value a change after it started from,
        else the value it has ``now``."""
        for entry in entries:
            changed = (entry.terms or {}).get(name)
            if changed is not None and not self.counts(entry.at):
                return changed[0]
        return now
