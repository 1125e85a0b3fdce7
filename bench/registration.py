"""`mobility propose` of a 5,000-row CSV against the same rows inserted with plain SQL.

The project side is the real command in a subprocess (start-up, parsing, validation, every row's
placement, history, approvals, tokens and outbox rows). The baseline inserts exactly the rows the
command left behind, copied from its database into a fresh one with ``executemany`` in one
transaction, through the same driver.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import MetaData, insert, select

from bench.common import Result, fresh_database, load_example_programmes, make_app, proposal_rows
from models import Base
from models.db import get_engine

ROWS = 5000


def _write_csv(path: Path) -> None:
    rows = proposal_rows(ROWS)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run(backend: str) -> Result:
    folder = Path(tempfile.mkdtemp(prefix="mobility-bench-csv-"))
    csv_path = folder / "proposals.csv"
    _write_csv(csv_path)
    mobility = str(Path(sys.executable).with_name("mobility"))
    with fresh_database(backend) as url:
        app = make_app(url, folder / "var")
        load_example_programmes(app)
        before = {t.name for t in Base.metadata.sorted_tables}
        env = {
            **os.environ,
            "MOBILITY_DATABASE_URL": url,
            "MOBILITY_VAR_DIR": str(folder / "var"),
            "MOBILITY_SECRET_KEY": "bench-secret",
        }
        started = time.perf_counter()
        subprocess.run(
            [mobility, "propose", str(csv_path)], check=True, env=env, stdout=subprocess.DEVNULL
        )
        project_seconds = time.perf_counter() - started
        with get_engine(url).connect() as connection:
            rows = {
                table.name: [dict(r._mapping) for r in connection.execute(select(table))]
                for table in Base.metadata.sorted_tables
                if table.name in before
            }
    with fresh_database(backend) as url:
        engine = get_engine(url)
        metadata = MetaData()
        metadata.reflect(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                if rows.get(table.name):
                    connection.execute(insert(metadata.tables[table.name]), rows[table.name])
        baseline_seconds = time.perf_counter() - started
    return Result(
        benchmark="bulk registration",
        backend=backend,
        project=ROWS / project_seconds,
        baseline=ROWS / baseline_seconds,
        unit="rows/s",
        target="≥ 1/2",
        higher_is_better=True,
        met=lambda ratio: ratio >= 1 / 2,
    )
