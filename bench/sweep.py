"""One sweep over 100,000 placements with 200 due against one over 1,000 with the same 200 due:
the cost must follow what is due, not what exists."""

from __future__ import annotations

import time

from bench.common import Result, fresh_database
from bench.dataset import AS_OF, build
from states.calendar.sweep import run_sweep

LARGE = 100_000
SMALL = 1_000


def sweep_seconds(backend: str, total: int) -> tuple[float, dict[str, int]]:
    with fresh_database(backend) as url:
        dataset = build(url, total=total)
        started = time.perf_counter()
        report = run_sweep(dataset.app.uow, as_of=AS_OF)
        return time.perf_counter() - started, report.counts


def run(backend: str) -> Result:
    small, small_counts = sweep_seconds(backend, SMALL)
    large, large_counts = sweep_seconds(backend, LARGE)
    note = (
        "" if small_counts == large_counts else f"counts differ: {small_counts} vs {large_counts}"
    )
    return Result(
        benchmark="sweep scaling",
        backend=backend,
        project=large,
        baseline=small,
        unit="s",
        target="≤ 1.2",
        higher_is_better=False,
        met=lambda ratio: ratio <= 1.2,
        note=note or f"due work: {large_counts}",
    )
