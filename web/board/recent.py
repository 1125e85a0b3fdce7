"""The report a page was just built from, kept a minute for that page's charts.

The report page shows four charts, each a picture of its own request; each built the whole
report again, so one view built it five times. The page builds it afresh and keeps it; a chart
asked for within a minute draws that same report, so its figures are the page's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from states.followup.rows import ProgrammeReport

KEEP_SECONDS = 60.0
MOST_KEPT = 64


class RecentReports:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # the board's sync routes run on a thread pool
        self._kept: dict[str, tuple[float, ProgrammeReport]] = {}

    def fresh(self, programme: str, build: Callable[[], ProgrammeReport]) -> ProgrammeReport:
        """Built now, and kept for the page's charts."""
        report = build()
        with self._lock:
            self._kept.pop(programme, None)
            self._kept[programme] = (self._clock(), report)
            while len(self._kept) > MOST_KEPT:
                del self._kept[next(iter(self._kept))]
        return report

    def recent(self, programme: str, build: Callable[[], ProgrammeReport]) -> ProgrammeReport:
        """The one a page built less than a minute ago, or a new one."""
        with self._lock:
            kept = self._kept.get(programme)
        if kept is not None and self._clock() - kept[0] < KEEP_SECONDS:
            return kept[1]
        return self.fresh(programme, build)
