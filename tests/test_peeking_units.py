"""The emailed link's GET reads through ``App.peeking``: connections the database itself keeps
from writing, each statement on its own, with no ping before use.

On PostgreSQL a GET made five round trips (pool ping, BEGIN READ ONLY, two reads, COMMIT)
and makes two; what it gave up must not be a guarantee: the database still refuses a write,
and a connection the database dropped is read through again on a new one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from states.bootstrap import App
from states.links.pages import open_link
from states.unit_of_work import read_once_more_if_dropped
from tests.conftest import load_examples, propose_example
from tests.test_links import NOW, PROPOSED, live_links

INSERT_PERSON = text(
    "INSERT INTO person (email, name, language, created_at)"
    " VALUES ('x@example.org', 'X', 'sv', CURRENT_TIMESTAMP)"
)


def _people(app: App) -> int:
    with app.reading() as uow:
        return int(uow.session.execute(text("SELECT count(*) FROM person")).scalar_one())


def test_a_peeking_unit_cannot_write_on_either_database(any_app: App) -> None:
    load_examples(any_app)
    before = _people(any_app)
    refusal = "read-only transaction" if any_app.engine.dialect.name == "postgresql" else "readonly"
    with pytest.raises(DBAPIError, match=refusal), any_app.peeking() as uow:
        uow.connection.execute(INSERT_PERSON)
        uow.commit()
    assert _people(any_app) == before


def test_a_link_page_reads_its_statements_and_nothing_else(any_app: App) -> None:
    """Two reads: no BEGIN, no COMMIT, no ping."""
    load_examples(any_app)
    reference = propose_example(any_app, as_of=PROPOSED)
    raw = live_links(any_app, reference, "approval")["home_manager"]
    open_link(any_app.peeking(), raw_token=raw, now=NOW)  # the pool has a connection now
    engine = any_app.peeking().engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        view = open_link(any_app.peeking(), raw_token=raw, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert view.purpose == "approval"
    assert statements == ["SELECT", "SELECT"]


@pytest.mark.postgres
def test_a_link_page_on_a_connection_the_database_dropped_is_read_again(
    postgres_app: App,
) -> None:
    load_examples(postgres_app)
    reference = propose_example(postgres_app, as_of=PROPOSED)
    raw = live_links(postgres_app, reference, "approval")["home_manager"]
    peeking = postgres_app.peeking().engine
    peeking.dispose()
    open_link(postgres_app.peeking(), raw_token=raw, now=NOW)  # one pooled connection
    with peeking.connect() as connection:
        pid = connection.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
    with postgres_app.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    view = read_once_more_if_dropped(
        lambda: open_link(postgres_app.peeking(), raw_token=raw, now=NOW)
    )
    assert view.purpose == "approval"
