"""Engines: SQLite tuned for concurrent writers, PostgreSQL pooled."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_SECONDS = 60.0


def _configure_sqlite(engine: Engine, *, peeking: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        # What is deleted or overwritten is zeroed, not left in free space and freed pages,
        # so a purged name does not stay readable in the file (ON, not FAST: FAST leaves
        # freelist pages as they were).
        cursor.execute("PRAGMA secure_delete=ON")
        if peeking:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    if peeking:
        return  # no BEGIN: each statement reads on its own

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-then-write transaction must hold the write lock from its first read;
        # otherwise two writers deadlock on the upgrade and one gets "database is locked".
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement is its own transaction (a delivery run's outcomes)
        connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'IMMEDIATE')}")


# Starlette runs the link pages' sync endpoints on a pool of 40 threads. A connection pool
# smaller than that closes every connection beyond its size when it is returned and opens a
# new one for the next request, as a loaded web process did with pools of 10 (SQLite 8).
# Connections are opened on demand, so a CLI run still holds one.
POOL_SIZE = 40


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(url)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=0)


@lru_cache(maxsize=8)
def get_peeking_engine(url: str) -> Engine:
    """Connections that cannot write, each statement a transaction of its own: for a page
    whose read is one statement or two that need no common snapshot (the emailed link's GET).

    The database refuses every write on them (PostgreSQL ``default_transaction_read_only``,
    SQLite ``query_only``), so no BEGIN READ ONLY and no COMMIT is needed: on PostgreSQL a
    GET made five round trips (ping, BEGIN, two reads, COMMIT) and now makes two. No ping on
    checkout either: a connection the database dropped fails the read, which is read once
    more on a new one (``states.unit_of_work.read_once_more_if_dropped``)."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
        _configure_sqlite(engine, peeking=True)
        return engine
    return create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=POOL_SIZE,
        max_overflow=0,
        connect_args={"options": "-c default_transaction_read_only=on"},
    )


def _sqlite_engine(url: str) -> Engine:
    return create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        pool_size=POOL_SIZE,
        max_overflow=0,
    )


@lru_cache(maxsize=8)  # asked on every link GET: no URL rendered each time
def peeking_engine(engine: Engine) -> Engine:
    """The peeking engine on ``engine``'s database; an in-memory SQLite database has no other
    connection to peek through, so it is ``engine`` itself."""
    if is_sqlite(engine) and engine.url.database in (None, "", ":memory:"):
        return engine
    return get_peeking_engine(engine.url.render_as_string(hide_password=False))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class WalCheckpoint:
    """What ``PRAGMA wal_checkpoint(TRUNCATE)`` answered."""

    truncated: bool
    """Every frame was copied into the database file and the WAL is empty."""
    frames: int
    """Frames in the WAL when it gave up (0 once truncated)."""
    path: str


def truncate_wal(engine: Engine, *, wait_seconds: float = 10.0) -> WalCheckpoint | None:
    """Fold the SQLite WAL into the database file and truncate it to zero bytes, so that no
    older version of a page (a purged name, say) stays in it. Readers still on an older
    snapshot hold it up: SQLite's busy handler retries for ``wait_seconds``, then this says
    it could not. ``None`` for a database without a WAL (PostgreSQL, in-memory SQLite)."""
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:":
        return None
    raw = engine.raw_connection()
    try:
        # Outside any transaction: SQLite refuses a checkpoint inside one.
        connection = raw.driver_connection
        assert connection is not None
        connection.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        try:
            busy, frames, _copied = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
    finally:
        raw.close()
    # (-1, -1) when the database is not in WAL mode: nothing is left over then either.
    truncated = busy == 0
    return WalCheckpoint(truncated=truncated, frames=0 if truncated else frames, path=database)
