"""The services behind the link pages: look at a link (read-only: scanners open every link),
and act on it (one transaction: the token is used and the step changes, or neither)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal, cast

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from models import (
    ActionToken,
    AgreementAcceptance,
    AgreementDocument,
    Approval,
    EvaluationResponse,
    Placement,
    table_of,
)
from models.text import free_text
from states.documents.document import agreement_body
from states.errors import FieldError, NotFound, TransitionRefused
from states.lifecycle.evaluation import Question, questions_for, validate_answers
from states.lifecycle.outbox import language_for
from states.lifecycle.records import load_by_token, load_step_records, person_of
from states.lifecycle.steps import APPROVAL, BY_PURPOSE
from states.lifecycle.transitions import apply_event_in
from states.links.status import LinkStatus, status_of
from states.tokens import hash_token
from states.unit_of_work import ConnectionUnitOfWork, UnitOfWork

_COMMENT_REQUIRED = {
    "sv": "Skriv en motivering när du avslår eller begär ändringar",
    "en": "Please give a reason when you decline or ask for changes",
}
_COMMENT_TOO_LONG = {"sv": "Högst 5000 tecken", "en": "At most 5,000 characters"}
_UNKNOWN_DECISION = {"sv": "Välj ett av alternativen", "en": "Choose one of the options"}


@dataclass(frozen=True)
class PlacementFacts:
    """What a person deciding needs to see, and no more (no other placement, no ids)."""

    reference: str
    state: str
    programme_name: str
    participant_name: str
    home_organisation: str
    home_manager_name: str
    host_organisation: str
    host_contact_name: str
    start: date
    end: date
    extent_percent: int
    purpose: str
    development_plan: str
    value_for_home: str
    value_for_host: str
    student_involvement: str
    coordinator_name: str
    coordinator_email: str
    funding_sek: int = 0


@dataclass(frozen=True)
class CoApprover:
    """Another approver of the same round and what they have said so far: an approver sees it
    beside their own decision."""

    role: str
    name: str
    outcome: str | None
    """What their decision recorded (approved, …); None: they have not decided yet."""
    at: datetime | None
    comment: str | None


@dataclass(frozen=True)
class AgreementView:
    version: int
    sha256: str
    html: str
    """Our own autoescaped rendering (``states.documents.agreement``), safe to show as HTML."""


@dataclass(frozen=True)
class LinkView:
    token_id: int
    purpose: str
    role: str
    person_name: str
    language: str
    placement: PlacementFacts
    status: LinkStatus
    agreement: AgreementView | None = None
    questions: tuple[Question, ...] = ()
    answers: dict[str, Any] | None = None
    """The person's own submitted answers (shown read-only once given)."""
    decision_comment: str | None = None
    co_approvers: tuple[CoApprover, ...] = ()


@dataclass(frozen=True)
class LinkOutcome:
    """``done``: the decision was applied; ``gone``: the link cannot act (410), ``view.status``
    says why; ``invalid``: the form has errors (400), nothing was stored."""

    kind: Literal["done", "gone", "invalid"]
    view: LinkView
    decision: str | None = None
    to_state: str | None = None
    at: datetime | None = None
    errors: tuple[FieldError, ...] = ()


def _token_hash(raw_token: str) -> str:
    # A malformed token cannot match a stored hash; it is answered exactly like an unknown one.
    if not raw_token or len(raw_token) > 100 or not raw_token.isascii():
        raise NotFound("no such link")
    return hash_token(raw_token)


def _load(connection: Connection, raw_token: str, *, lock: bool) -> tuple[Any, Placement]:
    """The token, its placement with its people, and the rows of the token's step: one Core
    statement from the token's hash to the people, one for the step rows (after the lock)."""
    found = load_by_token(connection, _token_hash(raw_token), lock=lock, collections=())
    if found is None:
        raise NotFound("no such link")
    token, placement = found
    load_step_records(connection, placement, (BY_PURPOSE[token.purpose].collection,))
    return token, placement


def _facts(placement: Placement) -> PlacementFacts:
    coordinator = placement.programme.coordinator
    return PlacementFacts(
        reference=placement.reference,
        state=placement.state,
        programme_name=placement.programme.name,
        participant_name=placement.participant.name,
        home_organisation=placement.home_organisation.name,
        home_manager_name=placement.home_manager.name,
        host_organisation=placement.host_organisation.name,
        host_contact_name=placement.host_contact.name,
        start=placement.start_date,
        end=placement.end_date,
        extent_percent=placement.extent_percent,
        purpose=placement.purpose,
        development_plan=placement.development_plan,
        value_for_home=placement.value_for_home,
        value_for_host=placement.value_for_host,
        student_involvement=placement.student_involvement,
        coordinator_name=coordinator.name,
        coordinator_email=coordinator.email,
        funding_sek=placement.funding_sek,
    )


def _co_approvers(placement: Placement, approval: Approval) -> tuple[CoApprover, ...]:
    return tuple(
        CoApprover(
            role=row.role,
            name=placement.person_for_role(row.role).name,
            outcome=row.decision,
            at=row.decided_at,
            comment=row.comment,
        )
        for row in APPROVAL.current_rows(placement)
        if row.id != approval.id
    )


Subject = Approval | AgreementAcceptance | EvaluationResponse


def _subject(session: Session, token: ActionToken) -> Subject | None:
    step = BY_PURPOSE[token.purpose]
    subject = cast("Subject | None", session.get(step.model, token.subject_id))
    if subject is None or subject.placement_id != token.placement_id:
        return None
    return subject


def _subject_row(token: Any, placement: Placement) -> Any:
    """The step row the token acts on, among the placement's loaded rows (None: gone)."""
    rows = BY_PURPOSE[token.purpose].rows(placement)
    return next((row for row in rows if row.id == token.subject_id), None)


_DOCUMENT = select(
    table_of(AgreementDocument).c.version,
    table_of(AgreementDocument).c.sha256,
    table_of(AgreementDocument).c.content_html,
).where(table_of(AgreementDocument).c.id == bindparam("document_id"))


def _agreement(connection: Connection, document_id: int) -> AgreementView | None:
    document = connection.execute(_DOCUMENT, {"document_id": document_id}).first()
    if document is None:
        return None
    return AgreementView(document.version, document.sha256, agreement_body(document.content_html))


def _build_view(
    connection: Connection, token: Any, placement: Placement, *, now: datetime
) -> LinkView:
    person = person_of(connection, placement, token.person_id)
    language = language_for(person, placement)
    step = BY_PURPOSE[token.purpose]
    subject = _subject_row(token, placement)
    role = getattr(subject, "role", "") or ""
    agreement = None
    questions: tuple[Question, ...] = ()
    answers = None
    comment = None
    co_approvers: tuple[CoApprover, ...] = ()
    if subject is not None and step.model is AgreementAcceptance:
        agreement = _agreement(connection, subject.document_id)
    elif subject is not None and step.model is EvaluationResponse:
        questions = tuple(
            questions_for(placement.programme, role=role, language=language, kind=subject.kind)
        )
        answers = subject.answers if subject.submitted_at is not None else None
    elif subject is not None and step.model is Approval:
        comment = subject.comment
        co_approvers = _co_approvers(placement, subject)
    return LinkView(
        token_id=token.id,
        purpose=token.purpose,
        role=role,
        person_name=person.name,
        language=language,
        placement=_facts(placement),
        status=status_of(token, placement, subject, now=now),
        agreement=agreement,
        questions=questions,
        answers=answers,
        decision_comment=comment,
        co_approvers=co_approvers,
    )


def open_link(uow: UnitOfWork | ConnectionUnitOfWork, *, raw_token: str, now: datetime) -> LinkView:
    """What the page behind a link shows. Reads only: scanners open every link."""
    with uow:
        connection = uow.connection
        token, placement = _load(connection, raw_token, lock=False)
        return _build_view(connection, token, placement, now=now)


def _validate(
    view: LinkView,
    *,
    decision: str | None,
    comment: str | None,
    answers_form: Mapping[str, Sequence[str]],
) -> tuple[str, dict[str, Any] | None, list[FieldError]]:
    """The event, the answers and every form error, in the person's language."""
    language = view.language
    step = BY_PURPOSE[view.purpose]
    if step.form == "answers":
        answers, errors = validate_answers(view.questions, answers_form, language=language)
        (event,) = step.decisions
        return event, answers, errors
    errors = []
    if decision is None or decision not in step.decisions:
        errors.append(FieldError(None, "decision", _UNKNOWN_DECISION[language]))
        return decision or "", None, errors
    text = free_text(comment or "")
    if decision in step.decisions_needing_comment and not text:
        errors.append(FieldError(None, "comment", _COMMENT_REQUIRED[language]))
    if len(text) > 5000:
        errors.append(FieldError(None, "comment", _COMMENT_TOO_LONG[language]))
    return decision, None, errors


_TOKENS = table_of(ActionToken)
# Built once: building the ORM statement for every POST cost as much as running it.
_CLAIM = (
    update(_TOKENS)
    .where(
        _TOKENS.c.id == bindparam("token_id"),
        _TOKENS.c.used_at.is_(None),
        _TOKENS.c.revoked_at.is_(None),
    )
    .values(used_at=bindparam("now"))
)


def _claim(connection: Connection, token: Any, now: datetime) -> bool:
    """Compare-and-set: the one request that flips ``used_at`` from NULL may act."""
    won = connection.execute(_CLAIM, {"token_id": token.id, "now": now})
    return bool(won.rowcount == 1)


def _record_checkin(session: Session, token: Any, answers: dict[str, Any], now: datetime) -> None:
    # A check-in is no step of the state machine: its answers are stored, the state stays.
    response = session.get(EvaluationResponse, token.subject_id)
    assert response is not None
    response.answers = answers
    response.submitted_at = now
    response.via = "link"


def _gone(uow: UnitOfWork, raw_token: str, now: datetime) -> LinkOutcome:
    """The 410 outcome, read after the failed attempt was rolled back (whoever won committed)."""
    view = open_link(uow.reading(), raw_token=raw_token, now=now)
    if view.status.live:  # refused for a reason link_status does not know: still no 500
        view = replace(view, status=LinkStatus("step_over", now))
    return LinkOutcome("gone", view)


def act_on_link(
    uow: UnitOfWork,
    *,
    raw_token: str,
    decision: str | None,
    comment: str | None,
    answers_form: Mapping[str, Sequence[str]],
    now: datetime,
) -> LinkOutcome:
    """Apply the decision behind a link in one transaction: the token is used by
    compare-and-set and the step changes through ``apply_event_in``, or neither happens. On
    a connection-only unit (``UnitOfWork.on_connection``): only a check-in uses a session."""
    unit = uow.on_connection()
    with unit:
        connection = unit.connection
        # Step rows are read after the placement's lock; a token another request used since is
        # told apart by the claim below (compare-and-set), whatever this read saw.
        token, placement = _load(connection, raw_token, lock=True)
        view = _build_view(connection, token, placement, now=now)
        if not view.status.live:
            return LinkOutcome("gone", view)
        event, answers, errors = _validate(
            view, decision=decision, comment=comment, answers_form=answers_form
        )
        if errors:
            return LinkOutcome("invalid", view, decision=decision, errors=tuple(errors))
        if not _claim(connection, token, now):
            unit.rollback()
            return _gone(unit, raw_token, now)
        person = person_of(connection, placement, token.person_id)
        to_state = placement.state
        try:
            if not BY_PURPOSE[token.purpose].holds_placement:
                _record_checkin(unit.session, token, answers or {}, now)
            else:
                result = apply_event_in(
                    unit,
                    reference=placement.reference,
                    event=event,
                    actor=person.email,
                    via="link",
                    role=view.role,
                    comment=comment,
                    answers=answers,
                    as_of=now,
                    token_id=token.id,
                    placement=placement,
                )
                to_state = result.to_state
        except TransitionRefused:
            unit.rollback()
            return _gone(unit, raw_token, now)
        unit.commit()
    return LinkOutcome(
        "done",
        view,
        decision=event,
        to_state=to_state,
        at=now,
    )
