"""`mobility --help` wall time against `python -c "import typer"` (the floor of any Typer CLI)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Result

RUNS = 15


def _median_seconds(command: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(backend: str) -> Result:
    mobility = str(Path(sys.executable).with_name("mobility"))
    baseline = _median_seconds([sys.executable, "-c", "import typer"])
    project = _median_seconds([mobility, "--help"])
    return Result(
        benchmark="start-up",
        backend="-",
        project=project * 1000,
        baseline=baseline * 1000,
        unit="ms",
        target="≤ 1.5×",
        higher_is_better=False,
        met=lambda ratio: ratio <= 1.5,
    )
