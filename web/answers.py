"""How an evaluation question's choices and a given answer read, in the person's language: the
link pages and the coordinator's desk show answers in these same words."""

from __future__ import annotations

from typing import Any

from states.lifecycle.evaluation import Question
from web.texts import Texts


def choices(q: Question, t: Texts) -> list[tuple[str, str]]:
    """The (value, label) pairs a question offers as radio buttons or checkboxes."""
    if q.kind == "scale":
        return [(str(n), str(n)) for n in range(q.minimum, q.maximum + 1)]
    if q.kind == "yesno":
        return [("yes", t("yes")), ("no", t("no"))]
    return list(q.options)


def answer_text(q: Question, answer: Any, t: Texts) -> str:
    if answer is None or answer == [] or answer == "":
        return t("no_answer")
    if isinstance(answer, bool):
        return t("yes") if answer else t("no")
    labels = dict(q.options)
    if isinstance(answer, list):
        return ", ".join(labels.get(str(a), str(a)) for a in answer)
    return labels.get(str(answer), str(answer))
