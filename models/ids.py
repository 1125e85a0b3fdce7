"""Primary keys reserved ahead for a batch of rows, so the batch is one plain ``executemany``.

An executemany with RETURNING is sent as multi-row VALUES statements of a thousand rows each,
whose text psycopg parses in Python every time (too long for its cache); the ids are then
matched back by a unique column. Reserving the ids first and inserting the rows with them in
a plain ``executemany`` (pipelined on PostgreSQL, one prepared statement) took about half the
CPU and wall time for 15,000 rows of 11 columns on PostgreSQL (1.2 → 0.6 s CPU, measured
alternately in one run).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, func, insert, select, text

_NEXTVALS = text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
)


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """``count`` unused ids of ``table``'s integer ``id``.

    PostgreSQL: taken from the column's sequence, as a default INSERT would (never handed out
    twice, whatever runs concurrently). SQLite: the ones after the largest id, which is what
    SQLite itself gives an INTEGER PRIMARY KEY without AUTOINCREMENT; safe only because a
    writing unit of work begins with BEGIN IMMEDIATE (``models.db``), so no other connection
    can insert until this transaction ends."""
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        found = connection.execute(_NEXTVALS, {"table": table.name, "count": count})
        return [int(id_) for id_ in found.scalars()]
    if not connection.in_transaction():
        raise RuntimeError("ids can be reserved only inside the transaction that uses them")
    largest = connection.execute(_largest_id(table)).scalar_one_or_none() or 0
    return list(range(largest + 1, largest + 1 + count))


def insert_with_ids(
    connection: Connection, table: Table, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Insert ``rows`` with ids reserved for them in one plain executemany; the rows as
    written, ids included, in the order given."""
    return IdReservations(connection, ()).insert(table, rows)


class IdReservations:
    """Ids for the rows one write inserts into several tables, with one statement on SQLite.

    SQLite: the first reservation reads the largest id of every table named, in one statement
    of scalar subqueries (a transition's agreement inserts acceptances, tokens and messages:
    one statement, not three); later ones count on from what was handed out. That holds only
    while every insert into these tables goes through ``insert`` (the caller holds it for one
    write, ``states.lifecycle.writing.write``), under the BEGIN IMMEDIATE ``reserve_ids``
    relies on. PostgreSQL: each reservation from the table's sequence (``reserve_ids``)."""

    def __init__(self, connection: Connection, tables: tuple[Table, ...]) -> None:
        self.connection = connection
        self._tables = tables
        self._on_sqlite = connection.dialect.name == "sqlite"
        self._largest: dict[Table, int] | None = None

    def reserve(self, table: Table, count: int) -> list[int]:
        """``count`` unused ids of ``table``."""
        if count <= 0:
            return []
        if not self._on_sqlite or table not in self._tables:
            return reserve_ids(self.connection, table, count)
        largest = self._read_largest() if self._largest is None else self._largest
        first = largest[table] + 1
        largest[table] = first + count - 1
        return list(range(first, first + count))

    @property
    def counting(self) -> bool:
        """Whether a reservation costs no statement (SQLite, the largest ids read already)."""
        return self._largest is not None

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``insert_with_ids`` with ids from these reservations."""
        ids = self.reserve(table, len(rows))
        written = [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
        self.connection.execute(_plain_insert(table), written)
        return written

    def _read_largest(self) -> dict[Table, int]:
        if not self.connection.in_transaction():
            raise RuntimeError("ids can be reserved only inside the transaction that uses them")
        found = self.connection.execute(_largest_ids(self._tables)).one()
        pairs = zip(self._tables, found, strict=True)
        self._largest = {table: int(id_ or 0) for table, id_ in pairs}
        return self._largest


@lru_cache(maxsize=8)
def _largest_ids(tables: tuple[Table, ...]) -> Select[Any]:
    """SELECT (SELECT max(id) FROM a), (SELECT max(id) FROM b), …: built once per tables."""
    return select(*(select(func.max(table.c.id)).scalar_subquery() for table in tables))


@lru_cache(maxsize=16)
def _largest_id(table: Table) -> Select[Any]:
    """Built once per table: a fresh ``func.max`` statement also misses the compiled cache's
    key memo, and cost twice its execution."""
    return select(func.max(table.c.id))


@lru_cache(maxsize=16)
def _plain_insert(table: Table) -> Insert:
    """Built once per table: building the statement costs more than running it."""
    return insert(table)


def complete_rows(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every column of ``table`` in every row (what the database holds after the INSERT): a
    column a row leaves out takes its scalar default, or NULL. A column with a computed or
    server-side default must be given; it is refused here rather than guessed."""
    defaults: dict[str, Any] = {}
    must_give: set[str] = set()
    for column in table.c:
        default = column.default
        if column.server_default is not None or (
            default is not None and not getattr(default, "is_scalar", False)
        ):
            must_give.add(column.name)
        else:
            defaults[column.name] = getattr(default, "arg", None)
    completed = []
    for row in rows:
        missing = must_give.difference(row)
        if missing:
            raise ValueError(f"{table.name}: {', '.join(sorted(missing))} must be given")
        completed.append({**defaults, **row})
    return completed
