"""The one way a placement changes state.

``apply_event`` runs in one transaction: it locks and loads the placement, asks the machine,
records the actor's part (a decision, an acceptance, an answer), compare-and-sets state and
version, appends a history row and queues the emails the change causes. It sends nothing and
calls nothing outside the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from statemachine.exceptions import TransitionNotAllowed

from models import (
    AgreementAcceptance,
    AgreementDocument,
    Approval,
    EvaluationResponse,
    HistoryEntry,
    Placement,
    Programme,
)
from states.agreement import render_agreement
from states.calendar import add_business_days
from states.errors import AlreadyDecided, NotFound, NotPermitted, TransitionRefused
from states.machine import PlacementMachine, events_from
from states.outbox import queue_for_transition
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


def _now(as_of: datetime | None) -> datetime:
    moment = as_of or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    return moment


def load_for_update(session: Session, reference: str, *, lock: bool = True) -> Placement:
    """The placement with everything the machine and the emails read; locked on PostgreSQL
    (SQLite's BEGIN IMMEDIATE already holds the database's write lock)."""
    query = (
        select(Placement)
        .where(Placement.reference == reference)
        .options(
            joinedload(Placement.programme).joinedload(Programme.coordinator),
            joinedload(Placement.participant),
            joinedload(Placement.home_manager),
            joinedload(Placement.host_contact),
            joinedload(Placement.home_organisation),
            joinedload(Placement.host_organisation),
            selectinload(Placement.approvals).joinedload(Approval.person),
            selectinload(Placement.acceptances).joinedload(AgreementAcceptance.person),
            selectinload(Placement.responses).joinedload(EvaluationResponse.person),
        )
    )
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(of=Placement)
    placement = session.scalars(query).unique().one_or_none()
    if placement is None:
        raise NotFound(f"no placement with reference {reference}")
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

def _record_decision(ctx: EventContext) -> None:
    approval = _current_approval(ctx)
    decision = {
        "approve": "approved", "decline": "declined", "request_changes": "changes_requested"
    }
    approval.decision = decision[ctx.event]
    approval.decided_at = ctx.now
    approval.comment = ctx.comment
    approval.via = ctx.via


def _open_approval_round(ctx: EventContext) -> None:
    placement = ctx.placement
    placement.approval_round += 1
    for role in placement.programme.approval_roles:
        approval = Approval(
            placement_id=placement.id,
            round=placement.approval_round,
            role=role,
            person=placement.person_for_role(role),
            requested_at=ctx.now,
        )
        placement.approvals.append(approval)
        ctx.session.add(approval)


def _record_acceptance(ctx: EventContext) -> None:
    acceptance = _open_acceptance(ctx)
    acceptance.accepted_at = ctx.now
    acceptance.via = ctx.via
    acceptance.token_id = ctx.token_id
    document = ctx.session.get(AgreementDocument, acceptance.document_id)
    assert document is not None
    acceptance.sha256 = document.sha256


def _issue_agreement(ctx: EventContext) -> None:
    """A new agreement version: earlier acceptances become void, every party is asked again."""
    placement = ctx.placement
    for acceptance in placement.acceptances:
        if acceptance.voided_at is None:
            acceptance.voided_at = ctx.now
    placement.agreement_version += 1
    rendered = render_agreement(placement, version=placement.agreement_version)
    document = AgreementDocument(
        placement_id=placement.id,
        version=placement.agreement_version,
        template=rendered.template,
        language=rendered.language,
        sha256=rendered.sha256,
        content_html=rendered.html,
        created_at=ctx.now,
    )
    ctx.session.add(document)
    ctx.session.flush()
    for role in placement.programme.agreement_parties:
        acceptance = AgreementAcceptance(
            placement_id=placement.id,
            document_id=document.id,
            role=role,
            person=placement.person_for_role(role),
            requested_at=ctx.now,
        )
        placement.acceptances.append(acceptance)
        ctx.session.add(acceptance)


def _finalise_agreement(ctx: EventContext) -> None:
    ctx.session.execute(
        update(AgreementDocument)
        .where(
            AgreementDocument.placement_id == ctx.placement.id,
            AgreementDocument.version == ctx.placement.agreement_version,
        )
        .values(final_at=ctx.now)
    )


def _open_evaluation(ctx: EventContext) -> None:
    placement = ctx.placement
    programme = placement.programme
    placement.evaluation_due_on = add_business_days(
        placement.end_date, programme.evaluation_due_after
    )
    for role in programme.evaluation_respondents:
        response = EvaluationResponse(
            placement_id=placement.id,
            kind="evaluation",
            role=role,
            person=placement.person_for_role(role),
            requested_at=ctx.now,
        )
        placement.responses.append(response)
        ctx.session.add(response)


def _record_answers(ctx: EventContext) -> None:
    response = _open_response(ctx)
    response.answers = ctx.answers or {}
    response.submitted_at = ctx.now
    response.via = ctx.via


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
    """``apply_event`` inside a transaction the caller owns (for batches and link tokens)."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {', '.join(VIAS)}")
    comment = comment.strip() if comment else None
    if event in EVENTS_NEEDING_REASON and not comment:
        raise TransitionRefused(f"{EVENT_VERBS[event]}: a reason is required")
    now = _now(as_of)
    session = uow.session
    if placement is None and expected_version is not None:
        _check_version(session, reference, expected_version)
    if placement is None:
        placement = load_for_update(session, reference)
    seen_version = placement.version
    if expected_version is not None and expected_version != seen_version:
        raise AlreadyDecided(
            f"{reference} was already decided by someone else: it is now "
            f"{STATE_WORDS[placement.state]}"
        )
    from_state = placement.state
    ctx = EventContext(
        session=session, uow=uow, placement=placement, event=event, role=role, actor=actor,
        via=via, comment=comment, answers=answers, now=now, as_of=now, token_id=token_id,
    )
    # Only where the event belongs: "approve" on a placement in evaluation must say "cannot be
    # approved now", not that round 1 was already decided.
    if event in PRECHECKS and event in events_from(from_state):
        PRECHECKS[event](ctx)

    machine = PlacementMachine(model=placement)
    try:
        machine.send(event, role=role, as_of=now)
    except TransitionNotAllowed:
        raise refusal(placement, event, now) from None
    to_state = placement.state

    effect = ON_EVENT.get(event)
    if effect is not None:
        effect(ctx)
    if to_state != from_state and to_state in ON_ENTER:
        ON_ENTER[to_state](ctx)

    values: dict[str, Any] = {"state": to_state, "version": seen_version + 1}
    if to_state != from_state:
        values["state_changed_at"] = now
    won = session.execute(
        update(Placement)
        .where(Placement.id == placement.id, Placement.version == seen_version)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyDecided(
            f"{reference} was already decided by someone else at the same moment"
        )

    session.add(
        HistoryEntry(
            placement_id=placement.id,
            version=seen_version + 1,
            event=event,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            via=via,
            comment=comment,
            at=now,
        )
    )
    outbox_ids = queue_for_transition(
        uow, placement=placement, event=event, to_state=to_state, now=now,
        context={"event": event, "from_state": from_state, "to_state": to_state,
                 "comment": comment, "role": role, "actor": actor},
    )
    return TransitionResult(
        reference=reference,
        event=event,
        from_state=from_state,
        to_state=to_state,
        version=seen_version + 1,
        at=now,
        outbox_ids=outbox_ids,
    )
