"""Peak RSS (VmHWM) of `mobility propose` on a generated 200,000-row CSV (70 MB; 40,000 rows
on PostgreSQL, see ROWS) against the same command on a one-row file, each in a fresh process.

The one-row run is the floor of the command (Python, the CLI, SQLAlchemy, pydantic, the
database connection); what the big file adds on top of it is reported per MB of file, with the
peak of a bare `import cli.main` for scale. A file streamed in batches adds a bounded amount,
not a multiple of its size: registered whole, this file peaked at 4,440 MiB (63 MiB per
file-MB), streamed at about 170 MiB.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import Result, fresh_database, load_example_programmes, make_app, proposal_rows
from bench.memory import peak_rss_mib

ROWS = {"sqlite": 200_000, "postgres": 40_000}
"""PostgreSQL gets a smaller file: past some 100,000 rows in one transaction its lookups by email
(IN lists of 1,000, prepared by psycopg after five runs) get a generic plan that scans the
person table comparing every row with every address, some seconds a lookup, and the 200,000
rows take tens of minutes (the old code made the same lookups). Memory is this process's, the
same code path on either database."""

PROPOSE = """
import sys
sys.argv = ["mobility", "propose", {path!r}]
from cli.main import main
try:
    main()
except SystemExit as stop:
    if stop.code:
        raise
"""


def write_proposals(path: Path, count: int) -> None:
    rows = iter(proposal_rows(1))
    header = list(next(rows))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        for start in range(0, count, 10_000):
            batch = proposal_rows(min(10_000, count - start), offset=start)
            writer.writerows(batch)


def _measure(backend: str, folder: Path, rows: int) -> tuple[float, float, float]:
    """Peak MiB of the one-row and the big run, and the big file's size in MB."""
    big, small = folder / "big.csv", folder / "one.csv"
    write_proposals(big, rows)
    write_proposals(small, 1)
    with fresh_database(backend) as url:
        app = make_app(url, folder / "var")
        load_example_programmes(app)
        env = {
            **os.environ,
            "MOBILITY_DATABASE_URL": url,
            "MOBILITY_VAR_DIR": str(folder / "var"),
            "MOBILITY_SECRET_KEY": "bench-secret",
        }
        floor = peak_rss_mib(PROPOSE.format(path=str(small)), env)
        peak = peak_rss_mib(PROPOSE.format(path=str(big)), env)
    return floor, peak, big.stat().st_size / 1e6


def run(backend: str) -> Result:
    rows = ROWS[backend]
    folder = Path(tempfile.mkdtemp(prefix="mobility-bench-propose-"))
    try:
        floor, peak, file_mb = _measure(backend, folder, rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the file is tens of MB
    cli_import = peak_rss_mib("import cli.main", dict(os.environ))
    per_mb = (peak - floor) / file_mb
    print(
        f"  propose {rows:,} rows ({file_mb:.0f} MB): peak {peak:,.0f} MiB, "
        f"{peak / file_mb:.2f} MiB per file-MB ({per_mb:.2f} above the one-row run)",
        file=sys.stderr,
    )
    return Result(
        benchmark=f"memory: propose {rows:,} rows",
        backend=backend,
        project=peak,
        baseline=floor,
        unit="MiB",
        target="≤ 3×",
        higher_is_better=False,
        met=lambda ratio: ratio <= 3,
        note=(
            f"{file_mb:.0f} MB file: {peak / file_mb:.2f} MiB per file-MB "
            f"({per_mb:.2f} above the one-row run); `import cli.main` peaks at "
            f"{cli_import:.0f} MiB"
        ),
    )
