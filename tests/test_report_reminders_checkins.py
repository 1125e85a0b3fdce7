"""The report counts the reminders and escalations the real sweep sent, and shows the
mid-placement check-in answers next to the evaluation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from models import ActionToken, EvaluationResponse, ReminderLog
from reporting.markdown import report_markdown
from states.bootstrap import App
from states.calendar.sweep import run_sweep
from states.followup.figures import build_report
from states.lifecycle.transitions import apply_event
from states.links.pages import act_on_link
from tests.conftest import load_examples, propose_example

PROPOSED = datetime(2026, 12, 1, 8, tzinfo=UTC)  # a Tuesday
PROGRAMME = "affilierad-kompetens-2027"


def test_reminders_escalations_and_checkins_reach_the_report(any_app: App) -> None:
    app = any_app
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    # 3 business days: first reminders; 9 business days: the third, and an escalation
    run_sweep(app.uow, as_of=datetime(2026, 12, 4, 9, tzinfo=UTC))
    run_sweep(app.uow, as_of=datetime(2026, 12, 14, 9, tzinfo=UTC))
    approved = datetime(2026, 12, 15, 9, tzinfo=UTC)
    for role in ("home_manager", "host_contact"):
        apply_event(
            app.uow(),
            reference=ref,
            event="approve",
            role=role,
            actor=role,
            via="link",
            as_of=approved,
        )
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            app.uow(),
            reference=ref,
            event="accept",
            role=role,
            actor=role,
            via="link",
            as_of=approved,
        )
    midway = datetime(2027, 5, 3, 9, tzinfo=UTC)
    run_sweep(app.uow, as_of=midway)

    with app.reading() as uow:
        logs = uow.session.scalars(select(ReminderLog)).all()
        expected = {
            kind: sum(1 for log in logs if log.step.startswith("approval") and log.kind == kind)
            for kind in ("reminder", "escalation")
        }
        token = uow.session.scalars(
            select(ActionToken)
            .where(ActionToken.purpose == "checkin")
            .join(EvaluationResponse, EvaluationResponse.id == ActionToken.subject_id)
            .where(EvaluationResponse.role == "participant")
        ).one()
        raw = app.config.minter.raw_for(token)
    assert expected["reminder"] >= 4 and expected["escalation"] == 1
    outcome = act_on_link(
        app.uow(),
        raw_token=raw,
        decision=None,
        comment=None,
        answers_form={"going_well": ["4"], "comment": ["Good start."]},
        now=midway,
    )
    assert outcome.kind == "done", outcome

    report = build_report(app.reading(), programme=PROGRAMME, as_of=midway)
    approval = next(r for r in report.reminders if r.stage == "approval")
    assert (approval.reminders, approval.escalations, approval.placements_reminded) == (
        expected["reminder"],
        expected["escalation"],
        1,
    )
    assert report.responses["checkin"] == {"asked": 2, "answered": 1}
    checkin = next(r for r in report.scores if r.kind == "checkin")
    assert (checkin.role, checkin.question, checkin.answers, checkin.score_4) == (
        "participant",
        "going_well",
        1,
        1,
    )
    assert [(t.kind, t.text) for t in report.texts] == [("checkin", "Good start.")]
    markdown = report_markdown(report)
    # the programme is Swedish: so is its report, with the glossary's role and the question
    assert (
        "| Avstämning | Deltagare | Hur går det hittills? (1 = dåligt, 5 = mycket bra) |"
        in markdown
    )
    assert "Avstämning 1 av 2" in markdown
