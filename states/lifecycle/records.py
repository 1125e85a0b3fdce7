"""The hot path's placement: plain rows read with SQLAlchemy Core, not ORM objects.

One statement reads the placement with its programme, coordinator, people and organisations
(built once; SQLAlchemy caches its compiled form); one more per collection reads the step rows
an event needs. The records carry the same attribute names as the models, so the machine's
guards, the effects, the notification rules and the agreement read them as they read the
models; what changes is written by the effects' own statements, never by a flush. Loading the
same rows through the ORM (identity map, loader options, instrumented attributes) cost five
times as much as the statement itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Column, Connection, Select, Table, bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    AgreementAcceptance,
    Approval,
    Base,
    EvaluationResponse,
    Organisation,
    Person,
    Placement,
    Programme,
    table_of,
)
from states.errors import NotFound
from states.lifecycle.steps import STEPS


class Record:
    """A row as plain attributes, named as the model names them."""

    def __init__(self, values: Mapping[Any, Any]) -> None:
        self.__dict__.update(values)

    if TYPE_CHECKING:  # any column's name; at run time a name not read is an AttributeError

        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', '?')}>"


class PlacementRecord(Record):
    person_for_role = Placement.person_for_role  # the model's rule, read over the records


def is_record(thing: object) -> bool:
    return isinstance(thing, Record)


def _record_class(model: type[Base]) -> type[Record]:
    """A record type per step model; ``__table__`` lets ``table_of`` find the rows' table."""
    return type(f"{model.__name__}Record", (Record,), {"__table__": table_of(model)})


STEP_RECORDS: Mapping[type[Base], type[Record]] = {
    model: _record_class(model) for model in (Approval, AgreementAcceptance, EvaluationResponse)
}

# What the placement's record holds besides its own columns: (attribute, model, foreign key
# on the row it hangs from). The programme's source file is never read on the hot path.
_PEOPLE = ("participant", "home_manager", "host_contact")
_ORGANISATIONS = ("home_organisation", "host_organisation")
_HANGING: tuple[tuple[str, type[Base]], ...] = (
    *((name, Person) for name in _PEOPLE),
    *((name, Organisation) for name in _ORGANISATIONS),
)
_LEFT_OUT: Mapping[type[Base], set[str]] = {Programme: {"source"}}


def _attributes(model: type[Base], table: Any) -> list[tuple[str, Column[Any]]]:
    """(attribute name, column of ``table``) for each mapped column of ``model``."""
    left_out = _LEFT_OUT.get(model, set())
    return [
        (attribute.key, table.c[attribute.columns[0].name])
        for attribute in model.__mapper__.column_attrs
        if attribute.key not in left_out
    ]


def _placement_statement() -> tuple[Select[Any], list[tuple[str, list[str]]]]:
    placement = table_of(Placement)
    programme = table_of(Programme)
    coordinator = table_of(Person).alias("coordinator")
    parts: list[tuple[str, list[tuple[str, Column[Any]]]]] = [
        ("placement", _attributes(Placement, placement)),
        ("programme", _attributes(Programme, programme)),
        ("coordinator", _attributes(Person, coordinator)),
    ]
    joined = placement.join(programme, programme.c.id == placement.c.programme_id).join(
        coordinator, coordinator.c.id == programme.c.coordinator_id
    )
    for name, model in _HANGING:
        alias = table_of(model).alias(name)
        joined = joined.join(alias, alias.c.id == placement.c[f"{name}_id"])
        parts.append((name, _attributes(model, alias)))
    columns = [column for _, attributes in parts for _, column in attributes]
    statement = select(*columns).select_from(joined)
    statement = statement.where(placement.c.reference == bindparam("reference"))
    return statement, [(name, [key for key, _ in attributes]) for name, attributes in parts]


_STATEMENT, _PARTS = _placement_statement()
_LOCKED = _STATEMENT.with_for_update(of=table_of(Placement))
_STEP_STATEMENTS: Mapping[str, tuple[type[Record], Select[Any]]] = {
    step.collection: (
        STEP_RECORDS[step.model],
        select(table_of(step.model))
        .where(table_of(step.model).c.placement_id == bindparam("placement_id"))
        .order_by(table_of(step.model).c.id),
    )
    for step in STEPS
}


def _split(row: Sequence[Any]) -> PlacementRecord:
    records: dict[str, Record] = {}
    start = 0
    for name, keys in _PARTS:
        records[name] = Record(dict(zip(keys, row[start : start + len(keys)], strict=True)))
        start += len(keys)
    placement = PlacementRecord(vars(records.pop("placement")))
    programme = records.pop("programme")
    programme.coordinator = records.pop("coordinator")
    placement.programme = programme
    placement.__dict__.update(records)
    return placement


def load_record(
    connection: Connection, reference: str, *, lock: bool, collections: Iterable[str]
) -> Placement:
    """The placement ``reference`` as records, with the step rows of ``collections``; its row
    locked on PostgreSQL when ``lock`` (SQLite's BEGIN IMMEDIATE holds the write lock already).

    Typed as the model: the records answer every attribute the hot path reads of it."""
    lock = lock and connection.dialect.name != "sqlite"
    row = connection.execute(_LOCKED if lock else _STATEMENT, {"reference": reference}).first()
    if row is None:
        raise NotFound(f"no placement with reference {reference}")
    placement = _split(row)
    load_step_records(connection, placement, collections)
    return cast(Placement, placement)


def _people(placement: Any) -> dict[int, Any]:
    people = {person.id: person for person in (getattr(placement, n) for n in _PEOPLE)}
    coordinator = placement.programme.coordinator
    people.setdefault(coordinator.id, coordinator)
    return people


def load_step_records(connection: Connection, placement: Any, collections: Iterable[str]) -> None:
    """Read the step rows of ``collections`` the record does not hold yet (after the lock:
    PostgreSQL re-reads only the locked row), each with its person."""
    people: dict[int, Any] | None = None
    for name in collections:
        if name in vars(placement):
            continue
        record_type, statement = _STEP_STATEMENTS[name]
        rows = [
            record_type(row._mapping)
            for row in connection.execute(statement, {"placement_id": placement.id})
        ]
        people = people if people is not None else _people(placement)
        _attach_people(connection, rows, people)
        setattr(placement, name, rows)


def _attach_people(connection: Connection, rows: list[Record], people: dict[int, Any]) -> None:
    """Each step row's ``person``: one of the placement's people, or (a person replaced since
    the row was asked) read by id."""
    missing = {row.person_id for row in rows if row.person_id not in people}
    if missing:
        persons: Table = table_of(Person)
        for found in connection.execute(select(persons).where(persons.c.id.in_(missing))):
            people[found.id] = Record(found._mapping)
    for row in rows:
        row.person = people[row.person_id]


def assign(thing: object, key: str, value: Any) -> None:
    """Set what a row now holds in the database: on a record its attribute, on an ORM object
    its committed value (so no flush writes it a second time)."""
    if isinstance(thing, Record):
        setattr(thing, key, value)
    else:
        set_committed_value(thing, key, value)
