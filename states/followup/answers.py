"""The evaluation and check-in answers summed up per question: scores, yes/no, ticked options
and the texts people wrote."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models import EvaluationResponse, Programme
from states.followup.rows import OptionRow, ScoreRow, TextRow, YesNoRow
from states.lifecycle.evaluation import Question, questions_for
from states.lifecycle.loading import load_for_update
from states.lifecycle.steps import EVALUATION
from states.unit_of_work import UnitOfWork


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class Evaluation:
    references: Mapping[int, str]
    scores: list[ScoreRow] = field(default_factory=list)
    yes_no: list[YesNoRow] = field(default_factory=list)
    options: list[OptionRow] = field(default_factory=list)
    texts: list[TextRow] = field(default_factory=list)


def _score_row(kind: str, role: str, q: Question, values: list[Any]) -> ScoreRow:
    numbers = [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    counts = Counter(numbers)
    return ScoreRow(
        kind,
        role,
        q.key,
        q.label,
        len(numbers),
        rounded(statistics.fmean(numbers)) if numbers else None,
        rounded(statistics.median(numbers)) if numbers else None,
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
    )


def _add_scores(
    out: Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    out.scores.append(_score_row(kind, role, q, _values(rows, q)))


def _add_yes_no(
    out: Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    values = _values(rows, q)
    yes = sum(v is True for v in values)
    out.yes_no.append(YesNoRow(kind, role, q.key, q.label, len(values), yes, len(values) - yes))


def _add_options(
    out: Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    ticked = Counter(
        v for value in _values(rows, q) for v in (value if isinstance(value, list) else [value])
    )
    out.options.extend(
        OptionRow(kind, role, q.key, option, label, ticked[option]) for option, label in q.options
    )


def _add_texts(
    out: Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    out.texts.extend(
        TextRow(kind, out.references[r.placement_id], role, q.key, str(r.answers[q.key]))
        for r in rows
        if r.answers and r.answers.get(q.key)
    )


# How the answers to each kind of question are summed up.
_AGGREGATES: Mapping[str, Callable[..., None]] = {
    "scale": _add_scores,
    "yesno": _add_yes_no,
    "multi": _add_options,
    "choice": _add_options,
    "text": _add_texts,
}


def _values(rows: Sequence[EvaluationResponse], q: Question) -> list[Any]:
    return [r.answers[q.key] for r in rows if r.answers and q.key in r.answers]


def evaluation_figures(
    programme: Programme, responses: Sequence[EvaluationResponse], references: Mapping[int, str]
) -> Evaluation:
    result = Evaluation(references=references)
    answered: dict[tuple[str, str], list[EvaluationResponse]] = defaultdict(list)
    for r in responses:
        if r.submitted_at is not None and r.answers is not None:
            answered[(r.kind, r.role)].append(r)
    for (kind, role), rows in sorted(answered.items()):
        for q in questions_for(programme, role=role, language=programme.language, kind=kind):
            _AGGREGATES[q.kind](result, kind, role, q, rows)
    result.texts.sort(key=lambda t: (t.kind, t.reference, t.role, t.question))
    return result


# --- one placement's answers, person by person (the board's placement page) ----------------


@dataclass(frozen=True)
class Answered:
    question: Question
    answer: Any
    """As stored: a number, True/False, an option key or a list of them, a text; None if the
    person left it out."""


@dataclass(frozen=True)
class PersonsAnswers:
    kind: str
    """evaluation or checkin."""
    role: str
    person: str
    requested_at: datetime
    submitted_at: datetime | None
    answers: tuple[Answered, ...]
    """Empty until answered."""


def placement_answers(uow: UnitOfWork, *, reference: str, language: str) -> list[PersonsAnswers]:
    """Each evaluation and check-in asked of a placement, with the answers given, the
    questions in ``language``."""
    with uow:
        placement = load_for_update(
            uow.session, reference, lock=False, collections=(EVALUATION.collection,)
        )
        result = []
        for row in sorted(placement.responses, key=lambda r: (r.kind, r.id)):
            given = row.answers if row.submitted_at is not None and row.answers else None
            questions = questions_for(
                placement.programme, role=row.role, language=language, kind=row.kind
            )
            result.append(
                PersonsAnswers(
                    kind=row.kind,
                    role=row.role,
                    person=row.person.name,
                    requested_at=row.requested_at,
                    submitted_at=row.submitted_at,
                    answers=tuple(Answered(q, given.get(q.key)) for q in questions)
                    if given is not None
                    else (),
                )
            )
        return result
