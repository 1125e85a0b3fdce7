"""The one way a placement changes state.

``apply_event`` runs in one transaction: it locks and loads the placement, asks the machine,
records the actor's part (a decision, an acceptance, an answer), compare-and-sets state and
version, appends a history row and queues the emails the change causes. It sends nothing and
calls nothing outside the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Select, Table, Update, bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from statemachine.callbacks import CallbackGroup
from statemachine.exceptions import TransitionNotAllowed

from models import (
    AgreementAcceptance,
    AgreementDocument,
    Approval,
    Base,
    EvaluationResponse,
    HistoryEntry,
    Person,
    Placement,
    Programme,
    table_of,
)
from states.agreement import render_agreement
from states.calendar import add_business_days
from states.errors import AlreadyDecided, NotFound, NotPermitted, TransitionRefused
from states.machine import STATES, PlacementMachine, events_from
from states.outbox import Caused, queue_for_transitions
from states.unit_of_work import UnitOfWork

Via = Literal["cli", "link", "flow", "ui", "api"]
VIAS: tuple[str, ...] = ("cli", "link", "flow", "ui", "api")

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


@dataclass
class EventContext:
    """What an effect needs: the locked placement, the event's arguments, and the session."""

    session: Session
    uow: UnitOfWork
    placement: Placement
    event: str
    role: str | None
    actor: str
    via: str
    comment: str | None
    answers: dict[str, Any] | None
    now: datetime
    as_of: datetime
    token_id: int | None
    new_steps: list[tuple[type[Any], str, dict[str, Any], Person]] = field(default_factory=list)
    """Step rows the event opens: (model, the placement's collection, columns, person)."""
    changes: dict[str, Any] = field(default_factory=dict)
    """The placement's columns the event changes; written by the compare-and-set UPDATE."""

    def change(self, **values: Any) -> None:
        """Change the placement's columns: the loaded object shows them at once (without
        becoming dirty: no second UPDATE at flush), the compare-and-set UPDATE writes them."""
        for key, value in values.items():
            set_committed_value(self.placement, key, value)
        self.changes.update(values)


def _now(as_of: datetime | None) -> datetime:
    moment = as_of or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    return moment


COLLECTIONS = ("approvals", "acceptances", "responses")

# The step rows an event reads or adds (its precheck, guard, effect and emails); an event not
# named here loads them all. Loading only these saves a query per collection on the hot path.
COLLECTIONS_FOR_EVENT: Mapping[str, tuple[str, ...]] = {
    "revise": (),
    "submit": ("approvals",),
    "approve": ("approvals",),
    "decline": ("approvals",),
    "request_changes": ("approvals",),
    "accept": ("acceptances",),
    "amend": ("acceptances",),
    "end": ("responses",),
    "answer": ("responses",),
    "close": ("responses",),
    "withdraw": ("approvals", "acceptances"),
    "cancel": (),
}
# …and those the state entered reads or adds (its ON_ENTER effect and emails), loaded once the
# machine has decided: the first of two approvals never reads the acceptances.
COLLECTIONS_FOR_ENTERING: Mapping[str, tuple[str, ...]] = {
    "agreement": ("acceptances",),
    "placement": ("acceptances",),
    "evaluation": ("responses",),
}


def _load_statement(lock: bool, joined: str | None) -> Select[Placement]:
    """The placement and its people in one query; ``joined`` names a collection joined into the
    same query (one round trip less than loading it after)."""
    statement = (
        select(Placement)
        .where(Placement.reference == bindparam("reference"))
        .options(
            joinedload(Placement.programme).joinedload(Programme.coordinator),
            joinedload(Placement.participant),
            joinedload(Placement.home_manager),
            joinedload(Placement.host_contact),
            joinedload(Placement.home_organisation),
            joinedload(Placement.host_organisation),
        )
    )
    if joined is not None:
        statement = statement.options(joinedload(getattr(Placement, joined)))
    return statement.with_for_update(of=Placement) if lock else statement


# Built once: constructing a statement and its loader options costs more than running it.
_LOAD_STATEMENTS: Mapping[tuple[bool, str | None], Select[Placement]] = {
    (lock, joined): _load_statement(lock, joined)
    for lock in (False, True)
    for joined in (None, *COLLECTIONS)
}
_COLLECTION_STATEMENTS: Mapping[str, Select[Any]] = {
    name: select(model).where(model.placement_id == bindparam("placement_id")).order_by(model.id)
    for name, model in (
        ("approvals", Approval),
        ("acceptances", AgreementAcceptance),
        ("responses", EvaluationResponse),
    )
}


def load_collections(
    session: Session, placement: Placement, collections: tuple[str, ...] = COLLECTIONS
) -> None:
    """Load the step rows a placement does not hold yet, one plain query per collection
    (cheaper than a ``selectinload``, and a collection already loaded is left as it is)."""
    unloaded = inspect(placement).unloaded
    for name in collections:
        if name in unloaded:
            rows = session.scalars(
                _COLLECTION_STATEMENTS[name], {"placement_id": placement.id}
            ).all()
            set_committed_value(placement, name, list(rows))


def load_for_update(
    session: Session,
    reference: str,
    *,
    lock: bool = True,
    collections: tuple[str, ...] = COLLECTIONS,
) -> Placement:
    """The placement with everything the machine and the emails read; locked on PostgreSQL
    (SQLite's BEGIN IMMEDIATE already holds the database's write lock)."""
    lock = lock and session.get_bind().dialect.name != "sqlite"
    # Under FOR UPDATE, PostgreSQL re-reads only the locked row once the lock is granted; rows
    # joined from other tables stay as the query first saw them. Step rows another transaction
    # just changed must be read after the lock, by a query of their own.
    joined = collections[0] if collections and not lock else None
    placement = (
        session.scalars(_LOAD_STATEMENTS[lock, joined], {"reference": reference})
        .unique()
        .one_or_none()
    )
    if placement is None:
        raise NotFound(f"no placement with reference {reference}")
    load_collections(session, placement, collections)
    return placement


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


# --- the actor's part in a step -------------------------------------------------------------


def _current_approval(ctx: EventContext) -> Approval:
    placement = ctx.placement
    for approval in placement.approvals:
        if approval.round == placement.approval_round and approval.role == ctx.role:
            return approval
    raise NotPermitted(
        f"{placement.reference}: no approval is asked of the {ctx.role} in this round"
    )


def _check_approval_open(ctx: EventContext) -> None:
    approval = _current_approval(ctx)
    if approval.decision is not None:
        raise AlreadyDecided(
            f"{ctx.placement.reference} was already decided by the {approval.role} "
            f"({approval.decision.replace('_', ' ')}) on {approval.decided_at:%Y-%m-%d}"
        )


def _open_acceptance(ctx: EventContext) -> AgreementAcceptance:
    for acceptance in ctx.placement.acceptances:
        if acceptance.voided_at is None and acceptance.role == ctx.role:
            if acceptance.accepted_at is not None:
                raise AlreadyDecided(
                    f"{ctx.placement.reference}: the {ctx.role} already accepted this agreement "
                    f"on {acceptance.accepted_at:%Y-%m-%d}"
                )
            return acceptance
    raise NotPermitted(f"{ctx.placement.reference}: the {ctx.role} is no party to the agreement")


def _open_response(ctx: EventContext) -> EvaluationResponse:
    for response in ctx.placement.responses:
        if response.kind == "evaluation" and response.role == ctx.role:
            if response.submitted_at is not None:
                raise AlreadyDecided(
                    f"{ctx.placement.reference}: the {ctx.role} already answered the evaluation "
                    f"on {response.submitted_at:%Y-%m-%d}"
                )
            return response
    raise NotPermitted(f"{ctx.placement.reference}: no evaluation is asked of the {ctx.role}")


PRECHECKS: Mapping[str, Callable[[EventContext], object]] = {
    "approve": _check_approval_open,
    "decline": _check_approval_open,
    "request_changes": _check_approval_open,
    "accept": _open_acceptance,
    "answer": _open_response,
}


# --- effects: what an event records beyond the state ---------------------------------------
#
# Effects keep the loaded objects true and write the database with plain statements: a changed
# step row is updated by its key at once, a new one is queued on the context and inserted with
# the others of the batch (``_insert_new_steps``). No ORM flush runs on the hot path; that flush
# cost more than all the event's statements together.


@lru_cache(maxsize=16)
def _by_key(table: Table) -> Update:
    """UPDATE <table> SET <the parameters' columns> WHERE id = :_id, built once per table."""
    return update(table).where(table.c.id == bindparam("_id"))


def one_or_many(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """Parameters for one row as a dict (execute), for more as a list (executemany): the
    executemany path costs more per statement, and most events write one row per table."""
    return rows[0] if len(rows) == 1 else rows


def _update_rows(ctx: EventContext, rows: Sequence[Any], **values: Any) -> None:
    """UPDATE step rows by key and mark the loaded objects as holding the new values."""
    if not rows:
        return
    table = table_of(type(rows[0]))
    with ctx.session.no_autoflush:
        params = one_or_many([{"_id": row.id, **values} for row in rows])
        ctx.session.execute(_by_key(table), params)
    for row in rows:
        for key, value in values.items():
            set_committed_value(row, key, value)


def _record_decision(ctx: EventContext) -> None:
    approval = _current_approval(ctx)
    decision = {
        "approve": "approved",
        "decline": "declined",
        "request_changes": "changes_requested",
    }
    _update_rows(
        ctx,
        [approval],
        decision=decision[ctx.event],
        decided_at=ctx.now,
        comment=ctx.comment,
        via=ctx.via,
    )


def _open_approval_round(ctx: EventContext) -> None:
    placement = ctx.placement
    ctx.change(approval_round=placement.approval_round + 1)
    for role in placement.programme.approval_roles:
        person = placement.person_for_role(role)
        ctx.new_steps.append(
            (
                Approval,
                "approvals",
                {
                    "placement_id": placement.id,
                    "round": placement.approval_round,
                    "role": role,
                    "person_id": person.id,
                    "requested_at": ctx.now,
                },
                person,
            )
        )


def _record_acceptance(ctx: EventContext) -> None:
    acceptance = _open_acceptance(ctx)
    documents = table_of(AgreementDocument)
    with ctx.session.no_autoflush:
        sha256 = ctx.session.execute(
            select(documents.c.sha256).where(documents.c.id == acceptance.document_id)
        ).scalar_one()
    _update_rows(
        ctx, [acceptance], accepted_at=ctx.now, via=ctx.via, token_id=ctx.token_id, sha256=sha256
    )


def _issue_agreement(ctx: EventContext) -> None:
    """A new agreement version: earlier acceptances become void, every party is asked again."""
    placement = ctx.placement
    _update_rows(ctx, [a for a in placement.acceptances if a.voided_at is None], voided_at=ctx.now)
    ctx.change(agreement_version=placement.agreement_version + 1)
    rendered = render_agreement(placement, version=placement.agreement_version)
    documents = table_of(AgreementDocument)
    with ctx.session.no_autoflush:
        document_id = ctx.session.execute(
            insert(documents).returning(documents.c.id),
            {
                "placement_id": placement.id,
                "version": placement.agreement_version,
                "template": rendered.template,
                "language": rendered.language,
                "sha256": rendered.sha256,
                "content_html": rendered.html,
                "created_at": ctx.now,
            },
        ).scalar_one()
    for role in placement.programme.agreement_parties:
        person = placement.person_for_role(role)
        ctx.new_steps.append(
            (
                AgreementAcceptance,
                "acceptances",
                {
                    "placement_id": placement.id,
                    "document_id": document_id,
                    "role": role,
                    "person_id": person.id,
                    "requested_at": ctx.now,
                },
                person,
            )
        )


def _finalise_agreement(ctx: EventContext) -> None:
    documents = table_of(AgreementDocument)
    with ctx.session.no_autoflush:
        ctx.session.execute(
            update(documents)
            .where(
                documents.c.placement_id == ctx.placement.id,
                documents.c.version == ctx.placement.agreement_version,
            )
            .values(final_at=ctx.now)
        )


def _open_evaluation(ctx: EventContext) -> None:
    placement = ctx.placement
    programme = placement.programme
    ctx.change(
        evaluation_due_on=add_business_days(placement.end_date, programme.evaluation_due_after)
    )
    for role in programme.evaluation_respondents:
        person = placement.person_for_role(role)
        ctx.new_steps.append(
            (
                EvaluationResponse,
                "responses",
                {
                    "placement_id": placement.id,
                    "kind": "evaluation",
                    "role": role,
                    "person_id": person.id,
                    "requested_at": ctx.now,
                },
                person,
            )
        )


def _record_answers(ctx: EventContext) -> None:
    response = _open_response(ctx)
    _update_rows(ctx, [response], answers=ctx.answers or {}, submitted_at=ctx.now, via=ctx.via)


ON_EVENT: Mapping[str, Callable[[EventContext], None]] = {
    "submit": _open_approval_round,
    "approve": _record_decision,
    "decline": _record_decision,
    "request_changes": _record_decision,
    "accept": _record_acceptance,
    "amend": _issue_agreement,
    "answer": _record_answers,
}

ON_ENTER: Mapping[str, Callable[[EventContext], None]] = {
    "agreement": _issue_agreement,
    "placement": _finalise_agreement,
    "evaluation": _open_evaluation,
}


# --- asking the machine -------------------------------------------------------------------


class _GuardView:
    """What a guard of ``PlacementMachine`` reads as ``self``: the model, nothing else."""

    __slots__ = ("model",)

    def __init__(self, model: Placement) -> None:
        self.model = model


Guard = tuple[Callable[..., bool], bool]
Route = tuple[str, tuple[Guard, ...]]


def _routes_from_machine() -> dict[tuple[str, str], tuple[Route, ...]] | None:
    """The machine's own transition table, read once per process: for each (state, event), the
    targets in declaration order with the guard methods that must hold (``cond``) or fail
    (``unless``). None when a guard is anything but a plain method of the machine (an
    expression, a model attribute), so the machine itself is asked every time."""
    routes: dict[tuple[str, str], list[Route]] = {}
    for state in PlacementMachine.states:
        for transition in state.transitions:
            guards: list[Guard] = []
            for spec in transition._specs:  # the declared guards
                if spec.group is not CallbackGroup.COND:
                    continue
                method = getattr(PlacementMachine, str(spec.func), None)
                if not isinstance(spec.func, str) or not callable(method):
                    return None
                if not spec.func.isidentifier():
                    return None
                guards.append((method, bool(spec.expected_value)))
            for event in transition.events:
                routes.setdefault((state.value, event.id), []).append(
                    (transition.target.value, tuple(guards))
                )
    return {key: tuple(value) for key, value in routes.items()}


_ROUTES = _routes_from_machine()


def decide(placement: Placement, event: str, *, role: str | None, as_of: datetime) -> str | None:
    """The state ``event`` leads ``placement`` to, or None if the machine refuses it.

    The machine is the authority: its transition table and guard methods decide, exactly as
    ``PlacementMachine(model=placement).send(event, role=role, as_of=as_of)`` would (the first
    transition whose guards hold wins). Building a machine instance costs about half a
    millisecond, more than the rest of the decision, so the table is read once per process.
    """
    if _ROUTES is None:
        return _decide_with_instance(placement, event, role=role, as_of=as_of)
    view = _GuardView(placement)
    for target, guards in _ROUTES.get((placement.state, event), ()):
        if all(bool(guard(view, role=role, as_of=as_of)) is expected for guard, expected in guards):
            return target
    return None


def _decide_with_instance(
    placement: Placement, event: str, *, role: str | None, as_of: datetime
) -> str | None:
    before = placement.state
    machine = PlacementMachine(model=placement)
    try:
        machine.send(event, role=role, as_of=as_of)
    except TransitionNotAllowed:
        return None
    target = placement.state
    placement.state = before
    return target


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
    comment = comment.strip() if comment else None
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
