"""The unit of work: one transaction, and the collaborators a service needs inside it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from states.tokens import TokenMinter

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceConfig:
    minter: TokenMinter
    message_id_domain: str = "mobility.localhost"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Stockholm"))
    agreement_templates_dir: Path | None = None
    """The folder of programmes' own agreement templates; None: only the standard ones."""

    @classmethod
    def for_tests(cls) -> ServiceConfig:
        return cls(minter=TokenMinter(secret=b"test-secret", valid_for=timedelta(days=30)))


def _opened(held: T | None) -> T:
    """What a unit of work holds while it is open (its session, its connection)."""
    if held is None:
        raise RuntimeError("the unit of work is not open; use it in a with block")
    return held


@lru_cache(maxsize=32)
def _session_factory(engine: Engine, read_only: bool) -> sessionmaker[Session]:
    """One factory per engine and mode: a sessionmaker builds a Session class of its own, and
    building it (its event dispatch) cost more per transaction than the transaction's commit.

    A read-only unit begins ``BEGIN DEFERRED`` on SQLite and ``BEGIN READ ONLY`` on PostgreSQL
    (no round trip of its own: psycopg puts it in the BEGIN it sends)."""
    if not read_only:
        return sessionmaker(bind=engine, expire_on_commit=False)
    options = (
        {"postgresql_readonly": True}
        if engine.dialect.name == "postgresql"
        else {"sqlite_begin": "DEFERRED"}
    )
    return sessionmaker(bind=engine.execution_options(**options), expire_on_commit=False)


class UnitOfWork:
    """``with uow:`` opens a transaction; ``uow.commit()`` ends it; leaving the block without
    a commit rolls back. Services receive a unit of work and never commit in helpers.

    On SQLite a writing unit of work begins with ``BEGIN IMMEDIATE`` (see ``models.db``), a
    read-only one with ``BEGIN DEFERRED`` so readers never wait for writers.
    """

    def __init__(self, engine: Engine, config: ServiceConfig, *, read_only: bool = False) -> None:
        self.engine = engine
        self.config = config
        self.read_only = read_only
        self._factory = _session_factory(engine, read_only)
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        return _opened(self._session)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def reading(self) -> UnitOfWork:
        """A read-only unit of work on the same database."""
        return UnitOfWork(self.engine, self.config, read_only=True)

    def on_connection(self) -> UnitOfWork:
        """A writing unit of work on the same database whose transaction is a bare Core
        connection's (``OnConnection``): for work that reads and writes plain rows only."""
        return OnConnection(self.engine, self.config)

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        self._session.begin()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        session = self.session
        try:
            # Closing ends the transaction without expiring what was read, so a read-only unit
            # hands out usable objects; a writer that did not commit rolls back and expires.
            if not self.read_only and session.in_transaction():
                session.rollback()
            elif exc_type is None and self._ends_reading_with_commit():
                session.commit()
        finally:
            session.close()
            self._session = None

    def _ends_reading_with_commit(self) -> bool:
        """On PostgreSQL a read-only unit that ended well commits its READ ONLY transaction (it
        cannot have written): psycopg forgets every prepared statement of a connection on
        ROLLBACK, so reads ending in one planned their statements afresh every time (the link
        page's nine-table join: 4 ms of planning each GET against 0.3 ms prepared)."""
        return self.read_only and self.dialect == "postgresql" and self.session.in_transaction()

    @property
    def connection(self) -> Connection:
        """The transaction's Core connection, for work that reads or writes plain rows."""
        return self.session.connection()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        """End the transaction undone, inside the ``with`` (a refused attempt that must leave
        nothing behind before its answer is read afresh)."""
        self.session.rollback()

    def savepoint(self) -> AbstractContextManager[Any]:
        """A savepoint inside the transaction: an item that fails undoes only itself."""
        return self.session.begin_nested()


class OnConnection(UnitOfWork):
    """A writing unit of work on a Core connection's transaction, with no ORM session unless
    asked for one: the transition service's hot path reads records and writes plain
    statements, and opening, flushing and committing a Session cost a sixth of its event.

    ``session`` is made on first use, bound to the connection and joining its transaction
    (an ORM step that still needs one); ``commit()`` flushes it first."""

    def __init__(self, engine: Engine, config: ServiceConfig) -> None:
        super().__init__(engine, config)
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        return _opened(self._connection)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False)
        return self._session

    def __enter__(self) -> OnConnection:
        self._connection = self.engine.connect()
        self._connection.begin()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        connection = self.connection
        try:
            self._close_session()
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()
            self._connection = None

    def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def commit(self) -> None:
        if self._session is not None:
            self._session.flush()
        self._close_session()
        self.connection.commit()

    def rollback(self) -> None:
        self._close_session()
        self.connection.rollback()

    def savepoint(self) -> AbstractContextManager[Any]:
        if self._session is not None:
            return self._session.begin_nested()
        return self.connection.begin_nested()


def read_once_more_if_dropped(read: Callable[[], T]) -> T:
    """``read()``, and once more if the database had dropped the connection it was given (a
    restart, ``pg_terminate_backend``): a peeking connection is not pinged before use."""
    try:
        return read()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return read()


class ConnectionUnitOfWork:
    """One short transaction on a Core connection, for work that needs no ORM session (the
    outbox's claims, outcomes and lease renewals, each in a transaction of its own):
    ``with`` opens it, ``commit()`` ends it, leaving the block without a commit rolls back.

    ``connection``: one the caller holds across many such units (a delivery run's outcomes),
    left open afterwards; without it each unit checks one out of the pool and returns it."""

    def __init__(self, engine: Engine, *, connection: Connection | None = None) -> None:
        self.engine = engine
        self._held = connection
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        return _opened(self._connection)

    def __enter__(self) -> ConnectionUnitOfWork:
        self._connection = self._held or self.engine.connect()
        self._connection.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        connection = self.connection
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            if self._held is None:
                connection.close()
            self._connection = None

    def commit(self) -> None:
        self.connection.commit()
