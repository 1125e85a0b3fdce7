"""One link, many presses at once: exactly one POST acts, every other is told the link is
used, and the step holds one answer. Two guards stand behind that, each enough alone: the
placement's lock (a waiting press reads the step rows after the winner has committed, and
sees the step answered) and the token's compare-and-set (``used_at`` NULL → now). With both
removed the check-in, which has no state machine behind it to refuse a second answer, let
more than one press store its answers on PostgreSQL; with either one in place, one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from models import ActionToken, Approval, EvaluationResponse, HistoryEntry
from states.bootstrap import App
from states.calendar.sweep import run_sweep
from states.lifecycle.transitions import apply_event
from states.links.pages import LinkOutcome, act_on_link
from tests.conftest import load_examples, propose_example

PROPOSED = datetime(2026, 12, 1, 8, tzinfo=UTC)
AGREED = datetime(2026, 12, 2, 9, tzinfo=UTC)
MIDWAY = datetime(2027, 5, 3, 9, tzinfo=UTC)
PRESSES = 8


def _press_at_once(app: App, raw: str, form: dict[str, list[str]], now: datetime) -> list[str]:
    """``PRESSES`` threads post the same link at the same moment; the outcomes' kinds."""
    start = threading.Barrier(PRESSES)
    kinds: list[str] = []

    def press(n: int) -> None:
        start.wait()
        outcome: LinkOutcome = act_on_link(
            app.uow(),
            raw_token=raw,
            decision=form.get("decision", [None])[0],
            comment=f"press {n}",
            answers_form=form,
            now=now,
        )
        kinds.append(outcome.kind)

    threads = [threading.Thread(target=press, args=(n,)) for n in range(PRESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(kinds)


def _raw_token(app: App, purpose: str, role: str) -> str:
    with app.reading() as uow:
        subject = Approval if purpose == "approval" else EvaluationResponse
        token = uow.session.scalars(
            select(ActionToken)
            .join(subject, subject.id == ActionToken.subject_id)
            .where(ActionToken.purpose == purpose, subject.role == role)
        ).one()
        return app.config.minter.raw_for(token)


def test_an_approval_link_pressed_8_times_at_once_decides_once(any_app: App) -> None:
    load_examples(any_app)
    propose_example(any_app, as_of=PROPOSED)
    raw = _raw_token(any_app, "approval", "home_manager")
    kinds = _press_at_once(any_app, raw, {"decision": ["approve"]}, AGREED)
    assert kinds == ["done"] + ["gone"] * (PRESSES - 1)
    with any_app.reading() as uow:
        approves = uow.session.scalar(select(func.count()).where(HistoryEntry.event == "approve"))
        decided = uow.session.scalar(select(func.count()).where(Approval.decision.is_not(None)))
    assert (approves, decided) == (1, 1)


def test_a_checkin_link_pressed_8_times_at_once_stores_one_answer(any_app: App) -> None:
    load_examples(any_app)
    ref = propose_example(any_app, as_of=PROPOSED)
    for event, roles in (
        ("approve", ("home_manager", "host_contact")),
        ("accept", ("participant", "home_manager", "host_contact")),
    ):
        for role in roles:
            apply_event(
                any_app.uow(),
                reference=ref,
                event=event,
                role=role,
                actor=role,
                via="link",
                as_of=AGREED,
            )
    run_sweep(any_app.uow, as_of=MIDWAY)
    raw = _raw_token(any_app, "checkin", "participant")
    form = {"going_well": ["4"], "comment": ["Good start."]}
    kinds = _press_at_once(any_app, raw, form, MIDWAY)
    assert kinds == ["done"] + ["gone"] * (PRESSES - 1)
    with any_app.reading() as uow:
        used = uow.session.scalars(
            select(ActionToken.used_at).where(ActionToken.purpose == "checkin")
        ).all()
    assert sum(1 for at in used if at is not None) == 1
