"""Writing what the machine allowed: the compare-and-set UPDATE of each placement, its history
row and the new step rows, one statement per kind for a whole batch, then the emails they
cause (``states.lifecycle.outbox``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from models import (
    ActionToken,
    AgreementAcceptance,
    Approval,
    Base,
    EvaluationResponse,
    HistoryEntry,
    OutboxMessage,
    Person,
    Placement,
    table_of,
)
from models.ids import IdReservations, complete_rows
from states.errors import AlreadyDecided
from states.lifecycle.effects import EventContext, one_or_many
from states.lifecycle.outbox import Caused, queue_for_transitions
from states.lifecycle.records import STEP_RECORDS, assign, is_record
from states.lifecycle.refusals import refused
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class TransitionResult:
    reference: str
    event: str
    from_state: str
    to_state: str
    version: int
    at: datetime
    outbox_ids: tuple[int, ...] = field(default=())


@dataclass
class Applied:
    """An event the machine allowed and whose effects are recorded on the loaded objects; the
    placement's own row is written by ``_write``, compare-and-set."""

    ctx: EventContext
    from_state: str
    to_state: str
    seen_version: int
    values: dict[str, Any]


_COMPARE_AND_SET = update(table_of(Placement)).where(
    table_of(Placement).c.id == bindparam("_id"),
    table_of(Placement).c.version == bindparam("_seen"),
)
_INSERT_HISTORY = insert(table_of(HistoryEntry))


def _compare_and_set(connection: Connection, applied: Sequence[Applied]) -> None:
    """One UPDATE … WHERE id = ? AND version = ? per placement (executemany per shape of the
    change): exactly one of two racing writers matches the version it read."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in applied:
        row = {**item.values, "_id": item.ctx.placement.id, "_seen": item.seen_version}
        shapes.setdefault(tuple(sorted(item.values)), []).append(row)
    statement = _COMPARE_AND_SET
    many_counted = connection.dialect.supports_sane_multi_rowcount
    for rows in shapes.values():
        batches = [rows] if many_counted or len(rows) == 1 else [[row] for row in rows]
        for batch in batches:
            won = connection.execute(statement, one_or_many(batch))
            if won.rowcount != len(batch):
                reference = (
                    applied[0].ctx.placement.reference
                    if len(applied) == 1
                    else ("a placement of this batch")
                )
                raise refused(AlreadyDecided, "decided_at_the_same_moment", reference=reference)
    _hold_written_values(applied)


def _hold_written_values(applied: Sequence[Applied]) -> None:
    """The placements show the values their rows now hold (the flush must not write them a
    second time)."""
    for item in applied:
        for key, value in item.values.items():
            if key not in item.ctx.changes:  # those the object holds already
                assign(item.ctx.placement, key, value)


Unwritten = Callable[[], None]
"""Inserts placements not yet in the database, as the events leave them."""


# What tells the step rows of one INSERT apart (their unique constraints): RETURNING rows are
# matched to the inserted rows by these, as SQLite does not promise their order.
STEP_KEYS: Mapping[type[Any], tuple[str, ...]] = {
    Approval: ("placement_id", "round", "role"),
    AgreementAcceptance: ("document_id", "role"),
    EvaluationResponse: ("placement_id", "kind", "role"),
}


ID_TABLES = tuple(
    table_of(model)
    for model in (Approval, AgreementAcceptance, EvaluationResponse, ActionToken, OutboxMessage)
)
"""The tables a transition inserts into with reserved ids (``models.ids.IdReservations``):
every insert into them during ``write`` goes through its reservations."""


@lru_cache(maxsize=16)
def _insert_returning(model: type[Base]) -> Any:
    return insert(model).returning(model)


@lru_cache(maxsize=16)
def _insert_returning_rows(model: type[Base]) -> Any:
    return insert(table_of(model)).returning(*table_of(model).c)


def _inserted(
    uow: UnitOfWork,
    ids: IdReservations,
    model: type[Base],
    rows: list[dict[str, Any]],
    records: bool,
) -> Any:
    """The inserted rows as the placements hold them: records for records (Core), persistent
    objects for ORM objects (the only use of the unit's session here)."""
    if records and len(rows) == 1 and not ids.counting:  # one statement, as it was
        returned = uow.connection.execute(_insert_returning_rows(model), rows)
        return [STEP_RECORDS[model](row._mapping) for row in returned]
    if records:
        # Many (a file's batch, an agreement's acceptances): ids reserved and the complete rows
        # inserted with a plain executemany (``models.ids``); the records are the rows as
        # written, not read back.
        table = table_of(model)
        written = ids.insert(table, complete_rows(table, rows))
        return [STEP_RECORDS[model](row) for row in written]
    return uow.session.scalars(_insert_returning(model), one_or_many(rows)).all()


def _insert_new_steps(uow: UnitOfWork, ids: IdReservations, applied: Sequence[Applied]) -> None:
    """One INSERT per kind of step row for the whole batch (``_inserted``); the inserted rows
    join their placement's loaded collection (records, or persistent objects for ORM
    placements)."""
    by_model: dict[type[Base], list[tuple[Placement, str, dict[str, Any], Person]]] = {}
    for item in applied:
        for model, collection, row, person in item.ctx.new_steps:
            by_model.setdefault(model, []).append((item.ctx.placement, collection, row, person))
    for model, wanted in by_model.items():
        names = STEP_KEYS[model]
        records = is_record(wanted[0][0])
        created = {
            tuple(getattr(step, name) for name in names): step
            for step in _inserted(uow, ids, model, [row for _, _, row, _ in wanted], records)
        }
        grown: dict[tuple[int, str], tuple[Placement, list[Any]]] = {}
        for placement, collection, row, person in wanted:
            step = created[tuple(row[name] for name in names)]
            assign(step, "person", person)
            key = (id(placement), collection)
            if key not in grown:
                grown[key] = (placement, list(getattr(placement, collection)))
            grown[key][1].append(step)
        for (_, collection), (placement, steps) in grown.items():
            assign(placement, collection, steps)


def _insert_history(connection: Connection, applied: Sequence[Applied]) -> None:
    """One history row per event, one statement for the batch."""
    connection.execute(
        _INSERT_HISTORY,
        one_or_many(
            [
                {
                    "placement_id": item.ctx.placement.id,
                    "version": item.seen_version + 1,
                    "event": item.ctx.event,
                    "from_state": item.from_state,
                    "to_state": item.to_state,
                    "actor": item.ctx.actor,
                    "via": item.ctx.via,
                    "comment": item.ctx.comment,
                    "at": item.ctx.now,
                    "published_at": None,
                }
                for item in applied
            ]
        ),
    )


def write(
    uow: UnitOfWork, applied: Sequence[Applied], *, unwritten: Unwritten | None = None
) -> list[TransitionResult]:
    """Compare-and-set, history and new step rows, then the emails they cause.

    ``unwritten``: the placements are not in the database yet (a file's proposals registered
    and submitted at once), and this inserts them with the values the events left, in place of
    the compare-and-set UPDATE: no other transaction can see them to race for them."""
    # The placement's row and its history are table statements: straight to the transaction's
    # connection (the session's execute path cost a third more for each, autoflush off).
    # Records need no session at all; ORM placements' writes run with the session's autoflush
    # off (nothing the caller left pending is flushed in between).
    connection = uow.connection
    ids = IdReservations(connection, ID_TABLES)
    records = all(is_record(item.ctx.placement) for item in applied)
    with nullcontext() if records else uow.session.no_autoflush:
        if unwritten is None:
            _compare_and_set(connection, applied)
        else:
            _hold_written_values(applied)
            unwritten()
        _insert_history(connection, applied)
        _insert_new_steps(uow, ids, applied)
    outbox_ids = queue_for_transitions(
        uow,
        ids,
        [
            Caused(
                placement=item.ctx.placement,
                event=item.ctx.event,
                to_state=item.to_state,
                now=item.ctx.now,
                context={
                    "event": item.ctx.event,
                    "from_state": item.from_state,
                    "to_state": item.to_state,
                    "comment": item.ctx.comment,
                    "role": item.ctx.role,
                    "actor": item.ctx.actor,
                },
            )
            for item in applied
        ],
    )
    return [
        TransitionResult(
            reference=item.ctx.placement.reference,
            event=item.ctx.event,
            from_state=item.from_state,
            to_state=item.to_state,
            version=item.seen_version + 1,
            at=item.ctx.now,
            outbox_ids=ids,
        )
        for item, ids in zip(applied, outbox_ids, strict=True)
    ]
