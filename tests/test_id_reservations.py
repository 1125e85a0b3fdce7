"""``models.ids.IdReservations`` (issue 15): ids for the rows one write inserts into several
tables, read with one statement on SQLite, from the sequences on PostgreSQL.

* The ids handed out are unused, distinct, and what a default INSERT would have given after
  them: rows inserted with them and rows inserted afterwards without an id never collide.
* On SQLite the largest ids of all the tables are read once, in one statement; the second
  approval of a placement (acceptances, tokens and messages inserted) reads them once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, insert, select

from models import Organisation, Person, table_of
from models.ids import IdReservations
from states.bootstrap import App
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example

PEOPLE, ORGANISATIONS = table_of(Person), table_of(Organisation)
APPROVE: dict[str, Any] = {
    "event": "approve",
    "actor": "t",
    "via": "link",
    "as_of": datetime(2026, 12, 2, 9, tzinfo=UTC),
}


@pytest.fixture
def statements(any_app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(any_app.engine, "before_cursor_execute", record)
    yield seen
    event.remove(any_app.engine, "before_cursor_execute", record)


def _person(n: int) -> dict[str, Any]:
    return {"email": f"p{n}@example.org", "name": f"P {n}"}


def _largest(connection: Connection) -> tuple[int, int]:
    people = connection.execute(select(func.max(PEOPLE.c.id))).scalar_one() or 0
    organisations = connection.execute(select(func.max(ORGANISATIONS.c.id))).scalar_one() or 0
    return int(people), int(organisations)


def test_reserved_ids_are_unused_and_a_default_insert_follows_them(any_app: App) -> None:
    with any_app.uow().on_connection() as unit:
        connection = unit.connection
        connection.execute(insert(PEOPLE), [_person(n) for n in range(3)])
        before = _largest(connection)
        ids = IdReservations(connection, (PEOPLE, ORGANISATIONS))
        people = ids.insert(PEOPLE, [_person(n) for n in range(3, 6)])
        more = ids.insert(PEOPLE, [_person(6)])
        organisations = ids.insert(ORGANISATIONS, [{"name": "A"}, {"name": "B"}])
        people_ids = [row["id"] for row in [*people, *more]]
        assert len(set(people_ids)) == 4 and min(people_ids) > before[0]
        assert min(row["id"] for row in organisations) > before[1]
        after = connection.execute(insert(PEOPLE).returning(PEOPLE.c.id), _person(7)).scalar()
        assert after is not None and after > max(people_ids)
        unit.commit()
    with any_app.reading() as uow:
        emails = uow.session.scalars(select(Person.email).order_by(Person.id)).all()
    assert emails[-5:] == [f"p{n}@example.org" for n in range(3, 8)]


@pytest.mark.parametrize("any_app", ["sqlite"], indirect=True)
def test_sqlite_reads_the_largest_ids_of_all_tables_once(
    any_app: App, statements: list[str]
) -> None:
    with any_app.uow().on_connection() as unit:
        ids = IdReservations(unit.connection, (PEOPLE, ORGANISATIONS))
        assert not ids.counting
        first = ids.reserve(PEOPLE, 2)
        assert ids.counting
        second = ids.reserve(PEOPLE, 1)
        organisations = ids.reserve(ORGANISATIONS, 3)
    largest = [s for s in statements if "max(" in s]
    assert len(largest) == 1 and largest[0].count("max(") == 2
    assert second == [first[-1] + 1] and len(organisations) == 3
    assert ids.reserve(PEOPLE, 0) == []


@pytest.mark.parametrize("any_app", ["sqlite"], indirect=True)
def test_sqlite_refuses_to_reserve_outside_a_transaction(any_app: App) -> None:
    with (
        any_app.engine.connect() as connection,
        pytest.raises(RuntimeError, match="inside the transaction"),
    ):
        IdReservations(connection, (PEOPLE,)).reserve(PEOPLE, 1)


def test_the_second_approval_reads_the_largest_ids_once(
    any_app: App, statements: list[str]
) -> None:
    load_examples(any_app)
    ref = propose_example(any_app)
    for role in ("home_manager", "host_contact"):
        statements.clear()
        result = apply_event(any_app.uow(), reference=ref, role=role, **APPROVE)
    assert result.to_state == "agreement" and len(result.outbox_ids) == 5
    largest = [s for s in statements if "max(" in s]
    if any_app.engine.dialect.name == "sqlite":
        assert len(largest) == 1 and largest[0].count("max(") == 5
    else:
        assert largest == [] and sum("nextval" in s for s in statements) == 3
    with any_app.reading() as uow:
        outbox = table_of(Person).metadata.tables["outbox"]
        tokens = table_of(Person).metadata.tables["action_token"]
        ids = uow.session.execute(select(outbox.c.id, outbox.c.token_id)).all()
        token_ids = set(uow.session.scalars(select(tokens.c.id)).all())
    assert set(result.outbox_ids) <= {row.id for row in ids}
    assert {row.token_id for row in ids if row.token_id is not None} <= token_ids
