"""Done means 2 (service level): missing and out-of-range answers are refused with a clear
message per field and nothing partial is stored; a second submission is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import EvaluationResponse, Programme
from states.bootstrap import App
from states.errors import AlreadyDecided, InvalidInput
from states.lifecycle.evaluation import questions_for, validate_answers
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example
from tests.evaluation_forms import submit_evaluation

ENDED = datetime(2027, 8, 2, 12, tzinfo=UTC)
GOOD = {
    "goals_reached": ["4"],
    "value_home": ["5"],
    "value_host": ["3"],
    "outcomes": ["course", "new_contacts"],
    "outcomes_text": ["A new course module."],
    "again": ["yes"],
}


def in_evaluation(app: App) -> str:
    load_examples(app)
    ref = propose_example(app)
    for role in ("home_manager", "host_contact"):
        apply_event(app.uow(), reference=ref, event="approve", role=role, actor=role, via="link")
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(app.uow(), reference=ref, event="accept", role=role, actor=role, via="link")
    apply_event(app.uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ENDED)
    return ref


def _responses(app: App) -> dict[str, tuple[object, object]]:
    with app.reading() as uow:
        return {
            r.role: (r.answers, r.submitted_at)
            for r in uow.session.scalars(select(EvaluationResponse))
        }


def test_missing_and_out_of_range_answers_are_refused_and_nothing_is_stored(
    any_app: App,
) -> None:
    ref = in_evaluation(any_app)
    form = {
        **GOOD,
        "goals_reached": ["7"],
        "value_home": [""],
        "outcomes": ["course", "fame"],
        "again": ["maybe"],
    }
    with pytest.raises(InvalidInput) as caught:
        submit_evaluation(
            any_app.uow(),
            reference=ref,
            role="participant",
            form=form,
            actor="daniel",
            via="link",
            as_of=ENDED,
        )
    # the participant writes Swedish: the messages are in Swedish, one per field
    messages = {e.field: e.message for e in caught.value.errors}
    assert messages == {
        "goals_reached": "Välj ett värde från 1 till 5",
        "value_home": "Svar krävs",
        "outcomes": "Okänt alternativ",
        "again": "Svara ja eller nej",
    }
    assert "4 errors, nothing was created" in str(caught.value)
    assert all(answers is None and at is None for answers, at in _responses(any_app).values())


def test_messages_in_english_for_an_english_respondent(app: App) -> None:
    ref = in_evaluation(app)
    with pytest.raises(InvalidInput, match="value_host: An answer is required"):
        submit_evaluation(
            app.uow(),
            reference=ref,
            role="host_contact",
            form={**GOOD, "value_host": []},
            actor="jan",
            via="link",
            as_of=ENDED,
        )


def test_valid_answers_are_stored_and_a_second_submission_is_refused(app: App) -> None:
    ref = in_evaluation(app)
    result = submit_evaluation(
        app.uow(),
        reference=ref,
        role="participant",
        form=GOOD,
        actor="daniel",
        via="link",
        as_of=ENDED,
    )
    assert result.to_state == "evaluation"
    answers, at = _responses(app)["participant"]
    assert answers == {
        "goals_reached": 4,
        "value_home": 5,
        "value_host": 3,
        "outcomes": ["course", "new_contacts"],
        "outcomes_text": "A new course module.",
        "again": True,
    }
    assert at is not None
    with pytest.raises(AlreadyDecided, match="already answered the evaluation"):
        submit_evaluation(
            app.uow(),
            reference=ref,
            role="participant",
            form={**GOOD, "goals_reached": ["1"]},
            actor="daniel",
            via="link",
            as_of=ENDED,
        )
    assert _responses(app)["participant"][0] == answers
    for role in ("home_manager", "host_contact"):
        last = submit_evaluation(
            app.uow(), reference=ref, role=role, form=GOOD, actor=role, via="link", as_of=ENDED
        )
    assert last.to_state == "completed"


def test_programme_questions_follow_the_default_set(app: App) -> None:
    load_examples(app)
    with app.reading() as uow:
        programme = uow.session.scalars(select(Programme)).first()
        assert programme is not None
        programme.evaluation_questions = [
            {
                "key": "students",
                "kind": "scale",
                "required": True,
                "label": {"sv": "Studenternas nytta", "en": "Benefit for students"},
                "roles": ["participant"],
            },
        ]
        questions = questions_for(programme, role="participant", language="en")
        others = questions_for(programme, role="host_contact", language="en")
    assert [q.key for q in questions][-1] == "programme_students"
    assert "programme_students" not in [q.key for q in others]
    assert [q.key for q in questions][:6] == [
        "goals_reached",
        "value_home",
        "value_host",
        "outcomes",
        "outcomes_text",
        "again",
    ]
    _, errors = validate_answers(questions, {**GOOD, "programme_students": ["0"]}, language="en")
    assert [str(e) for e in errors] == ["programme_students: Choose a value from 1 to 5"]


def test_every_default_question_has_both_languages() -> None:
    programme = Programme(evaluation_questions=[])
    for kind in ("evaluation", "checkin"):
        sv = questions_for(programme, role="participant", language="sv", kind=kind)
        en = questions_for(programme, role="participant", language="en", kind=kind)
        assert [q.key for q in sv] == [q.key for q in en]
        assert all(a.label != b.label for a, b in zip(sv, en, strict=True))
