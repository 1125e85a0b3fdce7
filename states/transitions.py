"""The one way a placement changes state.

``apply_event`` runs in one transaction: it locks and loads the placement, asks the machine,
records the actor's part (a decision, an acceptance, an answer), compare-and-sets state and
version, appends a history row and queues the emails the change causes. It sends nothing and
calls nothing outside the database.

Its steps live beside it: ``states.loading`` (what an event reads), ``states.decision`` (asking
the machine), ``states.effects`` (what each event records), ``states.outbox`` (the emails).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    AgreementAcceptance,
    Approval,
    Base,
    EvaluationResponse,
    HistoryEntry,
    Person,
    Placement,
    table_of,
)
from models.text import free_text
from states.decision import decide
from states.effects import ON_ENTER, ON_EVENT, PRECHECKS, EventContext, one_or_many
from states.errors import AlreadyDecided, NotFound, TransitionRefused
from states.loading import (
    COLLECTIONS,
    COLLECTIONS_FOR_ENTERING,
    COLLECTIONS_FOR_EVENT,
    load_collections,
    load_for_update,
)
from states.machine import STATES, events_from
from states.outbox import Caused, queue_for_transitions
from states.unit_of_work import UnitOfWork

Via = Literal["cli", "link", "flow", "ui", "api", "board"]
VIAS: tuple[str, ...] = ("cli", "link", "flow", "ui", "api", "board")

# What a refused event would have done, in words: "it can no longer be <verb>".
EVENT_VERBS: Mapping[str, str] = {
    "revise": "revised",
    "submit": "submitted",
    "approve": "approved",
    "decline": "declined",
    "request_changes": "sent back for changes",
    "accept": "accepted",
    "amend": "amended",
    "end": "ended",
    "answer": "evaluated",
    "close": "closed",
    "withdraw": "withdrawn",
    "cancel": "cancelled",
}

STATE_WORDS: Mapping[str, str] = {
    "proposal": "a proposal",
    "manager_approval": "waiting for manager approval",
    "agreement": "waiting for the agreement to be accepted",
    "placement": "in placement",
    "evaluation": "in evaluation",
    "completed": "completed",
    "declined": "declined",
    "withdrawn": "withdrawn",
    "cancelled": "cancelled",
}

GUARD_REASONS: Mapping[str, str] = {
    "end": "{ref} cannot end before its end date {end}",
    "close": "{ref} cannot be closed before its evaluation is due on {due}",
    "withdraw": "{ref} has started ({start}); cancel it instead of withdrawing it",
    "cancel": "{ref} has not started yet ({start}); withdraw it instead of cancelling it",
}

EVENTS_NEEDING_REASON = frozenset({"decline", "request_changes", "withdraw", "cancel"})


@dataclass(frozen=True)
class TransitionResult:
    reference: str
    event: str
    from_state: str
    to_state: str
    version: int
    at: datetime
    outbox_ids: tuple[int, ...] = field(default=())


def _now(as_of: datetime | None) -> datetime:
    moment = as_of or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    return moment


def _check_version(session: Session, reference: str, expected_version: int) -> None:
    """A stale page loses before the placement is loaded whole: when twenty people press at
    once, the nineteen losers hold the write lock for one small query each, not for the load."""
    query = select(Placement.version, Placement.state).where(Placement.reference == reference)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"no placement with reference {reference}")
    if row.version != expected_version:
        raise AlreadyDecided(
            f"{reference} was already decided by someone else: it is now {STATE_WORDS[row.state]}"
        )


# --- asking the machine -------------------------------------------------------------------


# --- the service ---------------------------------------------------------------------------


def refusal(placement: Placement, event: str, as_of: datetime) -> TransitionRefused:
    """Why ``event`` cannot happen to ``placement`` now, in words."""
    reference, state = placement.reference, placement.state
    verb = EVENT_VERBS.get(event, event)
    if event not in EVENT_VERBS:
        return TransitionRefused(f"unknown event {event!r}")
    if event in events_from(state) and event in GUARD_REASONS:
        return TransitionRefused(
            GUARD_REASONS[event].format(
                ref=reference,
                start=placement.start_date.isoformat(),
                end=placement.end_date.isoformat(),
                due=placement.evaluation_due_on.isoformat() if placement.evaluation_due_on else "?",
            )
        )
    if state in {"completed", "declined", "withdrawn", "cancelled"}:
        return AlreadyDecided(f"{reference} is {STATE_WORDS[state]}; it can no longer be {verb}")
    return TransitionRefused(f"{reference} is {STATE_WORDS[state]}; it cannot be {verb} now")


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
    """Apply ``event`` to the placement ``reference`` and commit; raise if it is refused."""
    with uow:
        result = apply_event_in(
            uow,
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
        uow.commit()
    return result


def _checked_comment(event: str, via: str, comment: str | None) -> str | None:
    if via not in VIAS:
        raise ValueError(f"via must be one of {', '.join(VIAS)}")
    comment = free_text(comment) if comment else None  # typed by a person: no bidi, no controls
    if event in EVENTS_NEEDING_REASON and not comment:
        raise TransitionRefused(f"{EVENT_VERBS[event]}: a reason is required")
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

    A ``placement`` the caller passes must be loaded as ``load_for_update`` loads it."""
    comment = _checked_comment(event, via, comment)
    now = _now(as_of)
    session = uow.session
    if placement is None and expected_version is not None:
        _check_version(session, reference, expected_version)
    if placement is None:
        placement = load_for_update(
            session, reference, collections=COLLECTIONS_FOR_EVENT.get(event, COLLECTIONS)
        )
    ctx = EventContext(
        session=session,
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
    return _write(uow, [_decide_and_record(ctx, expected_version)])[0]


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
) -> list[TransitionResult]:
    """One event applied to many placements in a transaction the caller owns (a file of
    proposals submitted at once), with every guarantee of ``apply_event_in``: the machine
    decides for each placement, each is compare-and-set on its own version, each gets its
    history row and its emails. The statements go to the database once per batch, not once per
    placement. One refusal refuses the batch. The placements must be loaded as
    ``load_for_update`` loads them (new ones: their collections set, empty)."""
    comment = _checked_comment(event, via, comment)
    now = _now(as_of)
    applied = [
        _decide_and_record(
            EventContext(
                session=uow.session,
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
    return _write(uow, applied)


@dataclass
class _Applied:
    """An event the machine allowed and whose effects are recorded on the loaded objects; the
    placement's own row is written by ``_write``, compare-and-set."""

    ctx: EventContext
    from_state: str
    to_state: str
    seen_version: int
    values: dict[str, Any]


_EVENTS_FROM: Mapping[str, frozenset[str]] = {state: events_from(state) for state in STATES}
_PLACEMENT_COLUMNS: Mapping[str, str] = {
    attribute.key: attribute.columns[0].name for attribute in Placement.__mapper__.column_attrs
}


def _changed_columns(placement: Placement) -> dict[str, Any]:
    """Columns of the placement the caller changed and did not flush (an amendment): they go
    into the one compare-and-set UPDATE too."""
    changed = inspect(placement).committed_state
    return {
        _PLACEMENT_COLUMNS[key]: getattr(placement, key)
        for key in changed
        if key in _PLACEMENT_COLUMNS
    }


def _decide_and_record(ctx: EventContext, expected_version: int | None) -> _Applied:
    placement, event, now = ctx.placement, ctx.event, ctx.now
    seen_version = placement.version
    if expected_version is not None and expected_version != seen_version:
        raise AlreadyDecided(
            f"{placement.reference} was already decided by someone else: it is now "
            f"{STATE_WORDS[placement.state]}"
        )
    from_state = placement.state
    # Only where the event belongs: "approve" on a placement in evaluation must say "cannot be
    # approved now", not that round 1 was already decided.
    if event in PRECHECKS and event in _EVENTS_FROM.get(from_state, ()):
        PRECHECKS[event](ctx)

    to_state = decide(placement, event, role=ctx.role, as_of=now)
    if to_state is None:
        raise refusal(placement, event, now)
    if to_state != from_state and to_state in COLLECTIONS_FOR_ENTERING:
        load_collections(ctx.session, placement, COLLECTIONS_FOR_ENTERING[to_state])
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
    return _Applied(ctx, from_state, to_state, seen_version, values)


_COMPARE_AND_SET = update(table_of(Placement)).where(
    table_of(Placement).c.id == bindparam("_id"),
    table_of(Placement).c.version == bindparam("_seen"),
)
_INSERT_HISTORY = insert(table_of(HistoryEntry))


def _compare_and_set(session: Session, applied: Sequence[_Applied]) -> None:
    """One UPDATE … WHERE id = ? AND version = ? per placement (executemany per shape of the
    change): exactly one of two racing writers matches the version it read."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in applied:
        row = {**item.values, "_id": item.ctx.placement.id, "_seen": item.seen_version}
        shapes.setdefault(tuple(sorted(item.values)), []).append(row)
    statement = _COMPARE_AND_SET
    many_counted = session.get_bind().dialect.supports_sane_multi_rowcount
    for rows in shapes.values():
        batches = [rows] if many_counted or len(rows) == 1 else [[row] for row in rows]
        for batch in batches:
            won = session.execute(statement, one_or_many(batch))
            if won.rowcount != len(batch):  # type: ignore[attr-defined]
                reference = (
                    applied[0].ctx.placement.reference
                    if len(applied) == 1
                    else ("a placement of this batch")
                )
                raise AlreadyDecided(
                    f"{reference} was already decided by someone else at the same moment"
                )
    for item in applied:
        # The row now holds these values: the flush must not write them a second time.
        for key, value in item.values.items():
            if key not in item.ctx.changes:  # those the object holds already
                set_committed_value(item.ctx.placement, key, value)


# What tells the step rows of one INSERT apart (their unique constraints): RETURNING rows are
# matched to the inserted rows by these, as SQLite does not promise their order.
STEP_KEYS: Mapping[type[Any], tuple[str, ...]] = {
    Approval: ("placement_id", "round", "role"),
    AgreementAcceptance: ("document_id", "role"),
    EvaluationResponse: ("placement_id", "kind", "role"),
}


@lru_cache(maxsize=16)
def _insert_returning(model: type[Base]) -> Any:
    return insert(model).returning(model)


def _insert_new_steps(session: Session, applied: Sequence[_Applied]) -> None:
    """One INSERT … RETURNING per kind of step row for the whole batch; the returned objects
    are persistent and join their placement's loaded collection."""
    by_model: dict[type[Base], list[tuple[Placement, str, dict[str, Any], Person]]] = {}
    for item in applied:
        for model, collection, row, person in item.ctx.new_steps:
            by_model.setdefault(model, []).append((item.ctx.placement, collection, row, person))
    for model, wanted in by_model.items():
        names = STEP_KEYS[model]
        created = {
            tuple(getattr(step, name) for name in names): step
            for step in session.scalars(
                _insert_returning(model), one_or_many([row for _, _, row, _ in wanted])
            )
        }
        grown: dict[tuple[int, str], tuple[Placement, list[Any]]] = {}
        for placement, collection, row, person in wanted:
            step = created[tuple(row[name] for name in names)]
            set_committed_value(step, "person", person)
            key = (id(placement), collection)
            if key not in grown:
                grown[key] = (placement, list(getattr(placement, collection)))
            grown[key][1].append(step)
        for (_, collection), (placement, steps) in grown.items():
            set_committed_value(placement, collection, steps)


def _write(uow: UnitOfWork, applied: Sequence[_Applied]) -> list[TransitionResult]:
    """Compare-and-set, history and new step rows, then the emails they cause."""
    session = uow.session
    with session.no_autoflush:
        _compare_and_set(session, applied)
        session.execute(
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
        _insert_new_steps(session, applied)
    outbox_ids = queue_for_transitions(
        uow,
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
