"""One sweep over 100,000 placements with 200 due against one over 1,000 with the same 200 due:
the cost must follow what is due, not what exists.

Each dataset is built once and each round sweeps a fresh copy of it (a file copy on SQLite,
``CREATE DATABASE … TEMPLATE`` on PostgreSQL); the rounds alternate between the two sizes and
each size keeps its fastest round, so a burst of load from elsewhere on a shared machine
lands on one round, not on the ratio."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import POSTGRES_URL, Result, fresh_database, make_app
from bench.dataset import AS_OF, build
from models.db import get_engine
from states.calendar.sweep import run_sweep

LARGE = 100_000
SMALL = 1_000
ROUNDS = 3


@contextmanager
def copy_of(backend: str, url: str) -> Iterator[str]:
    """A database of its own holding what ``url`` holds, dropped afterwards."""
    get_engine(url).dispose()
    if backend == "sqlite":
        source = Path(make_url(url).database or "")
        target = source.with_name(f"copy-{uuid.uuid4().hex[:8]}.db")
        shutil.copy(source, target)
        try:
            yield f"sqlite:///{target}"
        finally:
            get_engine(f"sqlite:///{target}").dispose()
            target.unlink(missing_ok=True)
        return
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    source_name = make_url(url).database
    name = f"{source_name}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source_name}"'))
    copy = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        yield copy
    finally:
        get_engine(copy).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sweep_once(backend: str, url: str) -> tuple[float, dict[str, int]]:
    with copy_of(backend, url) as copy:
        app = make_app(copy)
        started = time.perf_counter()
        report = run_sweep(app.uow, as_of=AS_OF)
        return time.perf_counter() - started, report.counts


def run(backend: str) -> Result:
    with ExitStack() as stack:
        urls = {}
        for total in (SMALL, LARGE):
            urls[total] = stack.enter_context(fresh_database(backend))
            build(urls[total], total=total)
        best: dict[int, float] = {}
        counts: dict[int, dict[str, int]] = {}
        for _ in range(ROUNDS):
            for total in (SMALL, LARGE):
                seconds, counts[total] = sweep_once(backend, urls[total])
                best[total] = min(seconds, best.get(total, seconds))
    note = (
        ""
        if counts[SMALL] == counts[LARGE]
        else f"counts differ: {counts[SMALL]} vs {counts[LARGE]}"
    )
    return Result(
        benchmark="sweep scaling",
        backend=backend,
        project=best[LARGE],
        baseline=best[SMALL],
        unit="s",
        target="≤ 1.2",
        higher_is_better=False,
        met=lambda ratio: ratio <= 1.2,
        note=note or f"fastest of {ROUNDS} rounds each; due work: {counts[LARGE]}",
    )
