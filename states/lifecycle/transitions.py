"""The one way a placement changes state.

``apply_event`` runs in one transaction: it locks and loads the placement, asks the machine,
records the actor's part (a decision, an acceptance, an answer), compare-and-sets state and
version, appends a history row and queues the emails the change causes. It sends nothing and
calls nothing outside the database.

Its steps live beside it in ``states.lifecycle``: ``loading`` (what an event reads),
``decision`` (asking the machine), ``effects`` (what each event records), ``outbox`` (the
emails).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, inspect, select

from models import Placement, table_of
from models.text import free_text
from states.errors import NotFound
from states.lifecycle.decision import decide
from states.lifecycle.effects import ON_ENTER, ON_EVENT, PRECHECKS, EventContext
from states.lifecycle.events import EVENTS_NEEDING_REASON, VIAS
from states.lifecycle.loading import (
    COLLECTIONS,
    COLLECTIONS_FOR_ENTERING,
    COLLECTIONS_FOR_EVENT,
    load_collections,
)
from states.lifecycle.machine import STATES, events_from
from states.lifecycle.records import is_record, load_record, load_step_records
from states.lifecycle.refusals import decided_by_someone_else, reason_required, refusal
from states.lifecycle.writing import Applied, TransitionResult, Unwritten, write
from states.unit_of_work import UnitOfWork


def _now(as_of: datetime | None) -> datetime:
    moment = as_of or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    return moment


_PLACEMENTS = table_of(Placement)
_VERSION = select(_PLACEMENTS.c.version, _PLACEMENTS.c.state).where(
    _PLACEMENTS.c.reference == bindparam("reference")
)
_VERSION_LOCKED = _VERSION.with_for_update()


def _check_version(connection: Connection, reference: str, expected_version: int) -> None:
    """A stale page loses before the placement is loaded whole: when twenty people press at
    once, the nineteen losers hold the write lock for one small query each, not for the load."""
    query = _VERSION if connection.dialect.name == "sqlite" else _VERSION_LOCKED
    row = connection.execute(query, {"reference": reference}).one_or_none()
    if row is None:
        raise NotFound(f"no placement with reference {reference}")
    if row.version != expected_version:
        raise decided_by_someone_else(reference, row.state)


# --- the service ---------------------------------------------------------------------------


def apply_event(
    uow: UnitOfWork,
    *,
    reference: str,
    event: str,
    actor: str,
    via: str,
    role: str | None = None,
    comment: str | None = None,
    answers: dict[str, Any] | None = None,
    expected_version: int | None = None,
    as_of: datetime | None = None,
    token_id: int | None = None,
) -> TransitionResult:
    """Apply ``event`` to the placement ``reference`` and commit; raise if it is refused.

    It runs on a connection-only unit of work (``UnitOfWork.on_connection``): the placement is
    read as records and every write is a plain statement, so no ORM session is needed."""
    unit = uow.on_connection()
    with unit:
        result = apply_event_in(
            unit,
            reference=reference,
            event=event,
            actor=actor,
            via=via,
            role=role,
            comment=comment,
            answers=answers,
            expected_version=expected_version,
            as_of=as_of,
            token_id=token_id,
        )
        unit.commit()
    return result


def _checked_comment(event: str, via: str, comment: str | None) -> str | None:
    if via not in VIAS:
        raise ValueError(f"via must be one of {', '.join(VIAS)}")
    comment = free_text(comment) if comment else None  # typed by a person: no bidi, no controls
    if event in EVENTS_NEEDING_REASON and not comment:
        raise reason_required(event)
    return comment


def apply_event_in(
    uow: UnitOfWork,
    *,
    reference: str,
    event: str,
    actor: str,
    via: str,
    role: str | None = None,
    comment: str | None = None,
    answers: dict[str, Any] | None = None,
    expected_version: int | None = None,
    as_of: datetime | None = None,
    token_id: int | None = None,
    placement: Placement | None = None,
) -> TransitionResult:
    """``apply_event`` inside a transaction the caller owns (for batches and link tokens).

    A ``placement`` the caller passes must be loaded as ``load_for_update`` or
    ``load_record`` loads it."""
    comment = _checked_comment(event, via, comment)
    now = _now(as_of)
    if placement is None and expected_version is not None:
        _check_version(uow.connection, reference, expected_version)
    if placement is None:  # the hot path: records read with Core (states.lifecycle.records)
        placement = load_record(
            uow.connection,
            reference,
            lock=True,
            collections=COLLECTIONS_FOR_EVENT.get(event, COLLECTIONS),
        )
    ctx = EventContext(
        uow=uow,
        placement=placement,
        event=event,
        role=role,
        actor=actor,
        via=via,
        comment=comment,
        answers=answers,
        now=now,
        as_of=now,
        token_id=token_id,
    )
    return write(uow, [_decide_and_record(ctx, expected_version)])[0]


def apply_event_to_many_in(
    uow: UnitOfWork,
    *,
    placements: Sequence[Placement],
    event: str,
    actor: str,
    via: str,
    role: str | None = None,
    comment: str | None = None,
    as_of: datetime | None = None,
    unwritten: Unwritten | None = None,
) -> list[TransitionResult]:
    """One event applied to many placements in a transaction the caller owns (a file of
    proposals submitted at once), with every guarantee of ``apply_event_in``: the machine
    decides for each placement, each is compare-and-set on its own version, each gets its
    history row and its emails. The statements go to the database once per batch, not once per
    placement. One refusal refuses the batch. The placements must be loaded as
    ``load_for_update`` loads them (new ones: their collections set, empty). New placements
    not inserted yet come with ``unwritten``, which inserts them as the event leaves them
    (``writing.write``)."""
    comment = _checked_comment(event, via, comment)
    now = _now(as_of)
    applied = [
        _decide_and_record(
            EventContext(
                uow=uow,
                placement=placement,
                event=event,
                role=role,
                actor=actor,
                via=via,
                comment=comment,
                answers=None,
                now=now,
                as_of=now,
                token_id=None,
            ),
            None,
        )
        for placement in placements
    ]
    return write(uow, applied, unwritten=unwritten)


_EVENTS_FROM: Mapping[str, frozenset[str]] = {state: events_from(state) for state in STATES}
_PLACEMENT_COLUMNS: Mapping[str, str] = {
    attribute.key: attribute.columns[0].name for attribute in Placement.__mapper__.column_attrs
}


def _load_entering(uow: UnitOfWork, placement: Placement, collections: tuple[str, ...]) -> None:
    if is_record(placement):
        load_step_records(uow.connection, placement, collections)
    else:
        load_collections(uow.session, placement, collections)


def _changed_columns(placement: Placement) -> dict[str, Any]:
    """Columns of an ORM placement the caller changed and did not flush (an amendment): they go
    into the one compare-and-set UPDATE too. A record changes only through the effects."""
    if is_record(placement):
        return {}
    changed = inspect(placement).committed_state
    return {
        _PLACEMENT_COLUMNS[key]: getattr(placement, key)
        for key in changed
        if key in _PLACEMENT_COLUMNS
    }


def _decide_and_record(ctx: EventContext, expected_version: int | None) -> Applied:
    placement, event, now = ctx.placement, ctx.event, ctx.now
    seen_version = placement.version
    if expected_version is not None and expected_version != seen_version:
        raise decided_by_someone_else(placement.reference, placement.state)
    from_state = placement.state
    # Only where the event belongs: "approve" on a placement in evaluation must say "cannot be
    # approved now", not that round 1 was already decided.
    if event in PRECHECKS and event in _EVENTS_FROM.get(from_state, ()):
        PRECHECKS[event](ctx)

    to_state = decide(placement, event, role=ctx.role, as_of=now)
    if to_state is None:
        raise refusal(placement, event, now)
    if to_state != from_state and to_state in COLLECTIONS_FOR_ENTERING:
        _load_entering(ctx.uow, placement, COLLECTIONS_FOR_ENTERING[to_state])
    ctx.change(state=to_state)  # as the machine leaves it: effects read the state entered

    effect = ON_EVENT.get(event)
    if effect is not None:
        effect(ctx)
    if to_state != from_state and to_state in ON_ENTER:
        ON_ENTER[to_state](ctx)

    values = {**_changed_columns(placement), **ctx.changes}  # the caller's changes, if any
    values["version"] = seen_version + 1
    if to_state != from_state:
        values["state_changed_at"] = now
    return Applied(ctx, from_state, to_state, seen_version, values)
