"""`mobility --help` wall time against `python -c "import typer"` (the floor of any Typer CLI).

The two commands take turns, and each side's median counts. Run as two blocks of 15 (all of
the baseline, then all of the project), a burst from elsewhere fell on one side only: the same
code gave 1.13, 1.39 and 1.60 in three runs a minute apart."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Result

RUNS = 15


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(backend: str) -> Result:
    mobility = str(Path(sys.executable).with_name("mobility"))
    commands = {"baseline": [sys.executable, "-c", "import typer"], "project": [mobility, "--help"]}
    samples: dict[str, list[float]] = {side: [] for side in commands}
    for _ in range(RUNS):
        for side, command in commands.items():
            samples[side].append(_seconds(command))
    baseline, project = (statistics.median(samples[side]) for side in ("baseline", "project"))
    return Result(
        benchmark="start-up",
        backend="-",
        project=project * 1000,
        baseline=baseline * 1000,
        unit="ms",
        target="≤ 1.5×",
        higher_is_better=False,
        met=lambda ratio: ratio <= 1.5,
        note=f"medians of {RUNS} runs each, the two commands taking turns",
    )
