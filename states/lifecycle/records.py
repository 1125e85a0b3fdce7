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
    ActionToken,
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

Only = Mapping[type[Base], frozenset[str]]
# What a transition reads of the placement by reference: the machine's guards, the effects,
# the notification rules and outbox rows (names, emails, languages) and the agreement's facts.
# 47 columns, not 78: each column read costs its share of the row's processing. A name left
# out is an AttributeError where it is read (every apply_event test would say so). The link
# pages' load (by token) reads every column: it renders the placement.
_TRANSITION_READS: Only = {
    Placement: frozenset(
        {
            *("id", "reference", "direction", "state", "version"),
            *("approval_round", "agreement_version", "evaluation_due_on"),
            *("start_date", "end_date", "extent_percent", "funding_sek"),
            *("purpose", "development_plan", "value_for_home", "value_for_host"),
            "student_involvement",
        }
    ),
    Programme: frozenset(
        {
            *("id", "key", "name", "language", "approval_roles"),
            *("agreement_template", "agreement_parties", "agreement_binding_language"),
            *("evaluation_respondents", "evaluation_due_after"),
        }
    ),
    Person: frozenset({"id", "email", "name", "language"}),
    Organisation: frozenset({"id", "name"}),
}


def _attributes(
    model: type[Base], table: Any, only: Only | None = None
) -> list[tuple[str, Column[Any]]]:
    """(attribute name, column of ``table``) for each mapped column of ``model``; with
    ``only``, those it names."""
    left_out = _LEFT_OUT.get(model, set())
    return [
        (attribute.key, table.c[attribute.columns[0].name])
        for attribute in model.__mapper__.column_attrs
        if attribute.key not in left_out and (only is None or attribute.key in only[model])
    ]


Parts = list[tuple[str, list[tuple[str, Column[Any]]]]]


def _placement_parts(token: Any = None, only: Only | None = None) -> tuple[Any, Parts]:
    """The join from the placement to its programme, coordinator, people and organisations,
    and the columns of each (those ``only`` names, with it) as (record, [(attribute,
    column)]); from ``token`` first when given. PostgreSQL keeps the written order of a join
    of more than 8 tables (join_collapse_limit): a token's join written from the placement
    hashed every placement and person (10 ms a link page on 2,000 placements); from the token
    it is index lookups."""
    placement = table_of(Placement)
    programme = table_of(Programme)
    coordinator = table_of(Person).alias("coordinator")
    parts: Parts = [
        ("placement", _attributes(Placement, placement, only)),
        ("programme", _attributes(Programme, programme, only)),
        ("coordinator", _attributes(Person, coordinator, only)),
    ]
    start = (
        placement
        if token is None
        else token.join(placement, placement.c.id == token.c.placement_id)
    )
    joined = start.join(programme, programme.c.id == placement.c.programme_id).join(
        coordinator, coordinator.c.id == programme.c.coordinator_id
    )
    for name, model in _HANGING:
        alias = table_of(model).alias(name)
        joined = joined.join(alias, alias.c.id == placement.c[f"{name}_id"])
        parts.append((name, _attributes(model, alias, only)))
    return joined, parts


def _select(joined: Any, parts: Parts, where: Any) -> tuple[Select[Any], list[tuple[str, int]]]:
    """The statement, and each record's name with its number of columns (to split a row)."""
    columns = [column for _, attributes in parts for _, column in attributes]
    keys = [(name, [key for key, _ in attributes]) for name, attributes in parts]
    return select(*columns).select_from(joined).where(where), keys  # type: ignore[return-value]


_JOINED, _PLACEMENT_PARTS = _placement_parts(only=_TRANSITION_READS)
_TOKEN = table_of(ActionToken)
_TOKEN_JOINED, _TOKEN_PARTS = _placement_parts(_TOKEN)
_BY_REFERENCE, _REFERENCE_KEYS = _select(
    _JOINED, _PLACEMENT_PARTS, table_of(Placement).c.reference == bindparam("reference")
)
# A link's token, its placement and people in one statement: what a link page reads first.
_BY_TOKEN, _TOKEN_KEYS = _select(
    _TOKEN_JOINED,
    [("token", _attributes(ActionToken, _TOKEN)), *_TOKEN_PARTS],
    _TOKEN.c.token_hash == bindparam("token_hash"),
)
_STATEMENTS: Mapping[tuple[str, bool], Select[Any]] = {
    ("reference", False): _BY_REFERENCE,
    ("reference", True): _BY_REFERENCE.with_for_update(of=table_of(Placement)),
    ("token", False): _BY_TOKEN,
    ("token", True): _BY_TOKEN.with_for_update(of=table_of(Placement)),
}
_STEP_STATEMENTS: Mapping[str, tuple[type[Record], Select[Any]]] = {
    step.collection: (
        STEP_RECORDS[step.model],
        select(table_of(step.model))
        .where(table_of(step.model).c.placement_id == bindparam("placement_id"))
        .order_by(table_of(step.model).c.id),
    )
    for step in STEPS
}


def _split(row: Sequence[Any], keys: Any) -> dict[str, Record]:
    records: dict[str, Record] = {}
    start = 0
    for name, names in keys:
        records[name] = Record(dict(zip(names, row[start : start + len(names)], strict=True)))
        start += len(names)
    placement = PlacementRecord(vars(records.pop("placement")))
    programme = records.pop("programme")
    programme.coordinator = records.pop("coordinator")
    placement.programme = programme
    token = records.pop("token", None)
    placement.__dict__.update(records)
    return {"placement": placement, **({"token": token} if token is not None else {})}


def _lock(connection: Connection, lock: bool) -> bool:
    """Lock the placement's row on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the write lock
    already."""
    return lock and connection.dialect.name != "sqlite"


def load_record(
    connection: Connection, reference: str, *, lock: bool, collections: Iterable[str]
) -> Placement:
    """The placement ``reference`` as records, with the step rows of ``collections``.

    Typed as the model: the records answer every attribute the hot path reads of it."""
    statement = _STATEMENTS["reference", _lock(connection, lock)]
    row = connection.execute(statement, {"reference": reference}).first()
    if row is None:
        raise NotFound(f"no placement with reference {reference}")
    placement = _split(row, _REFERENCE_KEYS)["placement"]
    load_step_records(connection, placement, collections)
    return cast(Placement, placement)


def load_by_token(
    connection: Connection, token_hash: str, *, lock: bool, collections: Iterable[str]
) -> tuple[Any, Placement] | None:
    """The token with this hash and its placement as records (as ``load_record``), or None."""
    statement = _STATEMENTS["token", _lock(connection, lock)]
    row = connection.execute(statement, {"token_hash": token_hash}).first()
    if row is None:
        return None
    records = _split(row, _TOKEN_KEYS)
    load_step_records(connection, records["placement"], collections)
    return records["token"], cast(Placement, records["placement"])


def person_of(connection: Connection, placement: Any, person_id: int) -> Any:
    """The person ``person_id`` as a record: one of the placement's people, or read by id."""
    people = _people(placement)
    if person_id not in people:
        _read_people(connection, people, {person_id})
    return people[person_id]


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


def _read_people(connection: Connection, people: dict[int, Any], ids: set[int]) -> None:
    persons: Table = table_of(Person)
    for found in connection.execute(select(persons).where(persons.c.id.in_(ids))):
        people[found.id] = Record(found._mapping)


def _attach_people(connection: Connection, rows: list[Record], people: dict[int, Any]) -> None:
    """Each step row's ``person``: one of the placement's people, or (a person replaced since
    the row was asked) read by id."""
    missing = {row.person_id for row in rows if row.person_id not in people}
    if missing:
        _read_people(connection, people, missing)
    for row in rows:
        row.person = people[row.person_id]


def assign(thing: object, key: str, value: Any) -> None:
    """Set what a row now holds in the database: on a record its attribute, on an ORM object
    its committed value (so no flush writes it a second time)."""
    if isinstance(thing, Record):
        setattr(thing, key, value)
    else:
        set_committed_value(thing, key, value)
