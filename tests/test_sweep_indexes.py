"""Every query the sweep asks of the placements starts from an index on its state and date
bound: a sweep with nothing due reads nothing in proportion to the placements held."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event

from states.bootstrap import App
from states.calendar.sweep import run_sweep
from tests.conftest import load_examples

AS_OF = datetime(2027, 3, 10, 6, 0, tzinfo=UTC)  # a Wednesday


@contextmanager
def selects(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _x: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not many:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _plan(app: App, statement: str, parameters: Any) -> str:
    with app.engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if app.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        # An empty table is cheapest to scan; without that way out, a missing index shows.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(str(row[0]) for row in cursor.fetchall())


def test_sweep_reads_placements_through_their_date_indexes(any_app: App) -> None:
    load_examples(any_app)
    with selects(any_app.engine) as seen:
        run_sweep(any_app.uow, as_of=AS_OF)
    sweeping = [(s, p) for s, p in seen if "FROM placement" in s and "placement.state =" in s]
    assert len(sweeping) >= 5  # the date transitions, start notices, welcomes, check-ins
    for statement, parameters in sweeping:
        plan = _plan(any_app, statement, parameters)
        assert "SCAN placement" not in plan and "Seq Scan on placement" not in plan, (
            f"{statement}\n{plan}"
        )
        date_bound = any(
            bound in statement
            for bound in ("_date <", "_date >", "evaluation_due_on <", "julianday", "DATE '")
        )
        # SQLite's planner chooses by the shape of the query alone; PostgreSQL's by statistics,
        # which an empty table does not have (there, no sequential scan is the check).
        if date_bound and any_app.engine.dialect.name == "sqlite":
            assert "ix_placement_state_programme" not in plan, f"{statement}\n{plan}"
            if "julianday" in statement:  # the midpoint: the one index that bounds it
                assert "ix_placement_state_period_sqlite" in plan, f"{statement}\n{plan}"
