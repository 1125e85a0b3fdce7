"""Answering an evaluation at service level, for tests: the product answers through the link
page (``states.links.pages.act_on_link``); this validates a form the same way and applies the
``answer`` event, raising where the page would show the errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from states.errors import AlreadyDecided, InvalidInput, NotPermitted
from states.lifecycle.evaluation import questions_for, validate_answers
from states.lifecycle.loading import load_for_update
from states.lifecycle.outbox import language_for
from states.lifecycle.transitions import apply_event_in
from states.lifecycle.writing import TransitionResult
from states.unit_of_work import UnitOfWork


def submit_evaluation(
    uow: UnitOfWork,
    *,
    reference: str,
    role: str,
    form: Mapping[str, Sequence[str]],
    actor: str,
    via: str,
    as_of: datetime,
    token_id: int | None = None,
) -> TransitionResult:
    """Validate a respondent's form and record it with the ``answer`` event, in one
    transaction: every error at once and nothing stored, or all of it. A second submission is
    refused (``AlreadyDecided``): a submitted answer can be seen, not changed."""
    with uow:
        placement = load_for_update(uow.session, reference)
        response = next(
            (r for r in placement.responses if r.kind == "evaluation" and r.role == role), None
        )
        if response is None:
            raise NotPermitted(f"{reference}: no evaluation is asked of the {role}")
        if response.submitted_at is not None:
            raise AlreadyDecided(
                f"{reference}: the {role} already answered the evaluation on "
                f"{response.submitted_at:%Y-%m-%d}; a submitted answer cannot be changed"
            )
        language = language_for(response.person, placement)
        questions = questions_for(placement.programme, role=role, language=language)
        answers, errors = validate_answers(questions, form, language=language)
        if errors:
            raise InvalidInput(errors, source=f"{reference} evaluation")
        result = apply_event_in(
            uow,
            reference=reference,
            event="answer",
            role=role,
            actor=actor,
            via=via,
            answers=answers,
            as_of=as_of,
            token_id=token_id,
            placement=placement,
        )
        uow.commit()
    return result
