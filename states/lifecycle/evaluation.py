"""Evaluation and check-in questions per respondent role, in Swedish and English, and the
validation of submitted answers. Pages render ``questions_for``; services store what
``validate_answers`` returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from models import Programme
from models.text import free_text
from states.errors import FieldError

QuestionKind = Literal["scale", "text", "multi", "yesno", "choice"]


@dataclass(frozen=True)
class Question:
    key: str
    kind: QuestionKind
    label: str
    required: bool = False
    options: tuple[tuple[str, str], ...] = field(default=())
    """(value, label) pairs for ``multi`` and ``choice``; the scale is 1–5."""
    minimum: int = 1
    maximum: int = 5


_Labels = Mapping[str, str]

OUTCOMES: tuple[tuple[str, _Labels], ...] = (
    ("course", {"sv": "Ny eller förändrad kurs", "en": "New or changed course"}),
    (
        "student_projects",
        {"sv": "Studentprojekt eller examensarbeten", "en": "Student projects or theses"},
    ),
    ("joint_application", {"sv": "Gemensam ansökan", "en": "Joint application"}),
    ("new_contacts", {"sv": "Nya kontakter", "en": "New contacts"}),
    ("continued_collaboration", {"sv": "Fortsatt samverkan", "en": "Continued collaboration"}),
    ("other", {"sv": "Annat", "en": "Other"}),
)

_EVALUATION: tuple[tuple[str, QuestionKind, bool, _Labels], ...] = (
    (
        "goals_reached",
        "scale",
        True,
        {
            "sv": "I vilken grad nåddes målen i utvecklingsplanen? (1 = inte alls, 5 = helt)",
            "en": (
                "How far were the goals of the development plan reached? "
                "(1 = not at all, 5 = fully)"
            ),
        },
    ),
    (
        "value_home",
        "scale",
        True,
        {"sv": "Värde för hemorganisationen (1–5)", "en": "Value for the home organisation (1–5)"},
    ),
    (
        "value_host",
        "scale",
        True,
        {"sv": "Värde för värdorganisationen (1–5)", "en": "Value for the host organisation (1–5)"},
    ),
    ("outcomes", "multi", False, {"sv": "Vad kom ut av det?", "en": "What came of it?"}),
    (
        "outcomes_text",
        "text",
        False,
        {"sv": "Beskriv gärna resultaten", "en": "Tell us about the results"},
    ),
    (
        "again",
        "yesno",
        True,
        {
            "sv": "Skulle du göra det igen eller rekommendera det?",
            "en": "Would you do it again, or recommend it?",
        },
    ),
)

_CHECKIN: tuple[tuple[str, QuestionKind, bool, _Labels], ...] = (
    (
        "going_well",
        "scale",
        True,
        {
            "sv": "Hur går det hittills? (1 = dåligt, 5 = mycket bra)",
            "en": "How is it going so far? (1 = badly, 5 = very well)",
        },
    ),
    (
        "comment",
        "text",
        False,
        {
            "sv": "Något vi borde veta eller hjälpa till med?",
            "en": "Anything we should know or help with?",
        },
    ),
)


def questions_for(
    programme: Programme, *, role: str, language: str, kind: str = "evaluation"
) -> list[Question]:
    """The questions ``role`` answers, default set first, then the programme's own."""
    base = _EVALUATION if kind == "evaluation" else _CHECKIN
    questions = [
        Question(
            key=key,
            kind=qkind,
            label=labels[language],
            required=required,
            options=tuple((value, names[language]) for value, names in OUTCOMES)
            if qkind == "multi"
            else (),
        )
        for key, qkind, required, labels in base
    ]
    if kind == "evaluation":
        for extra in programme.evaluation_questions:
            if extra.get("roles") and role not in extra["roles"]:
                continue
            labels = extra["label"]
            questions.append(
                Question(
                    key=f"programme_{extra['key']}",
                    kind=extra["kind"],
                    label=labels.get(language) or next(iter(labels.values())),
                    required=bool(extra.get("required")),
                    options=tuple((o, o) for o in extra.get("options", [])),
                )
            )
    return questions


_MESSAGES = {
    "required": {"sv": "Svar krävs", "en": "An answer is required"},
    "range": {"sv": "Välj ett värde från {lo} till {hi}", "en": "Choose a value from {lo} to {hi}"},
    "option": {"sv": "Okänt alternativ", "en": "Unknown option"},
    "yesno": {"sv": "Svara ja eller nej", "en": "Answer yes or no"},
    "long": {"sv": "Högst 5000 tecken", "en": "At most 5,000 characters"},
}


def _scale(question: Question, raw: list[str]) -> tuple[Any, str | None]:
    try:
        value = int(raw[0])
    except ValueError:
        return None, "range"
    if not question.minimum <= value <= question.maximum:
        return None, "range"
    return value, None


def _yesno(question: Question, raw: list[str]) -> tuple[Any, str | None]:
    if raw[0] not in ("yes", "no"):
        return None, "yesno"
    return raw[0] == "yes", None


def _options(question: Question, raw: list[str]) -> tuple[Any, str | None]:
    allowed = {value for value, _ in question.options}
    if any(v not in allowed for v in raw):
        return None, "option"
    if question.kind == "choice":
        return raw[0], None
    return list(dict.fromkeys(raw)), None  # ticked once each, in the order given


def _text(question: Question, raw: list[str]) -> tuple[Any, str | None]:
    if len(raw[0]) > 5000:
        return None, "long"
    return raw[0], None


# How each kind of question turns the form's strings into an answer, or names its error.
_PARSERS: Mapping[str, Callable[[Question, list[str]], tuple[Any, str | None]]] = {
    "scale": _scale,
    "yesno": _yesno,
    "multi": _options,
    "choice": _options,
    "text": _text,
}


def validate_answers(
    questions: Sequence[Question], form: Mapping[str, Sequence[str]], *, language: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """Answers keyed by question, or the errors (every one) in the respondent's language."""
    answers: dict[str, Any] = {}
    errors: list[FieldError] = []
    for question in questions:
        given = (free_text(v) for v in form.get(question.key, []) if v is not None)
        raw = [v for v in given if v]
        if not raw:
            if question.required:
                errors.append(FieldError(None, question.key, _MESSAGES["required"][language]))
            continue
        value, problem = _PARSERS[question.kind](question, raw)
        if problem is not None:
            message = _MESSAGES[problem][language].format(lo=question.minimum, hi=question.maximum)
            errors.append(FieldError(None, question.key, message))
            continue
        answers[question.key] = value
    return answers, errors
