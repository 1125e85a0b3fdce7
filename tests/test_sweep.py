"""The sweep drives the calendar: start notice, midpoint check-in, end, evaluation, close."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from models import ActionToken, EvaluationResponse, OutboxMessage
from states.bootstrap import App
from states.calendar.checkins import midpoint
from states.calendar.sweep import run_sweep
from states.lifecycle.queries import get_placement
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example
from tests.test_reminders import at, messages


def _to_placement(app: App) -> str:
    reference = propose_example(app, as_of=at(date(2027, 1, 11), 9))
    for role in ("home_manager", "host_contact"):
        apply_event(
            app.uow(),
            reference=reference,
            event="approve",
            role=role,
            actor=role,
            via="link",
            as_of=at(date(2027, 1, 12), 9),
        )
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            app.uow(),
            reference=reference,
            event="accept",
            role=role,
            actor=role,
            via="link",
            as_of=at(date(2027, 1, 13), 9),
        )
    return reference


def test_midpoint_rounds_up() -> None:
    assert midpoint(date(2027, 2, 1), date(2027, 7, 30)) == date(2027, 5, 2)
    assert midpoint(date(2027, 2, 1), date(2027, 2, 3)) == date(2027, 2, 2)


def test_the_calendar_walks_a_placement_to_completed(any_app: App) -> None:
    load_examples(any_app)
    examples = any_app
    reference = _to_placement(examples)
    # The start notice: two business days before Monday 1 February, on Thursday 28 January.
    assert run_sweep(examples.uow, as_of=at(date(2027, 1, 27))).total == 0
    report = run_sweep(examples.uow, as_of=at(date(2027, 1, 28)))
    assert report.counts == {"placement_starts": 2}
    assert {m.to_email for m in messages(examples, "placement_starts")} == {
        "daniel.aberg@verktyg.example",
        "jan.berg@univ.example",
    }
    assert run_sweep(examples.uow, as_of=at(date(2027, 1, 29))).total == 0
    assert run_sweep(examples.uow, as_of=at(date(2027, 2, 1))).total == 0  # no welcome asked

    # The midpoint is Sunday 2 May: the check-in goes out on Monday 3 May.
    assert run_sweep(examples.uow, as_of=at(date(2027, 5, 1), 23)).total == 0
    assert run_sweep(examples.uow, as_of=at(date(2027, 5, 2))).total == 0
    report = run_sweep(examples.uow, as_of=at(date(2027, 5, 3)))
    assert report.counts == {"checkin_request": 2}
    checkins = messages(examples, "checkin_request")
    with examples.reading() as uow:
        responses = list(
            uow.session.scalars(
                select(EvaluationResponse).where(EvaluationResponse.kind == "checkin")
            )
        )
        tokens = {
            t.id: t
            for t in uow.session.scalars(
                select(ActionToken).where(ActionToken.purpose == "checkin")
            )
        }
        uow.session.expunge_all()
    assert {r.role for r in responses} == {"participant", "host_contact"}
    assert {tokens[m.token_id].subject_id for m in checkins} == {r.id for r in responses}
    assert run_sweep(examples.uow, as_of=at(date(2027, 5, 4))).total == 0

    # "till och med fredag 30 juli": it ends after that day, on the next business morning.
    assert run_sweep(examples.uow, as_of=at(date(2027, 7, 30))).total == 0
    assert run_sweep(examples.uow, as_of=at(date(2027, 7, 31))).total == 0
    report = run_sweep(examples.uow, as_of=at(date(2027, 8, 2)))
    assert report.counts == {"ended": 1}
    assert get_placement(examples.reading(), reference=reference).state == "evaluation"
    assert len(messages(examples, "evaluation_request")) == 3

    apply_event(
        examples.uow(),
        reference=reference,
        event="answer",
        role="participant",
        actor="daniel",
        via="link",
        answers={},
        as_of=at(date(2027, 8, 2), 9),
    )
    report = run_sweep(examples.uow, as_of=at(date(2027, 8, 5)))  # 3 business days
    assert report.counts == {"evaluation_reminder": 2}
    assert {m.to_email for m in messages(examples, "evaluation_reminder")} == {
        "eva.holm@verktyg.example",
        "jan.berg@univ.example",
    }

    report = run_sweep(examples.uow, as_of=at(date(2027, 8, 13)))  # due after 10 days
    assert report.counts["closed"] == 1
    detail = get_placement(examples.reading(), reference=reference)
    assert detail.state == "completed"
    assert [h.via for h in detail.history if h.event in ("end", "close")] == ["flow", "flow"]


def test_end_is_read_in_stockholm_time(examples: App) -> None:
    """22:30 UTC on Sunday 1 August is already Monday 2 August in Stockholm: the placement,
    whose last day was Friday 30 July, ends; an hour earlier it is still Sunday there."""
    from datetime import UTC, datetime

    _to_placement(examples)
    assert run_sweep(examples.uow, as_of=datetime(2027, 8, 1, 21, 30, tzinfo=UTC)).total == 0
    report = run_sweep(examples.uow, as_of=datetime(2027, 8, 1, 22, 30, tzinfo=UTC))
    assert report.counts.get("ended") == 1


def test_withdrawn_placements_get_nothing(examples: App) -> None:
    reference = propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    apply_event(
        examples.uow(),
        reference=reference,
        event="withdraw",
        comment="no time",
        actor="sara",
        via="cli",
        as_of=at(date(2027, 3, 25)),
    )
    assert run_sweep(examples.uow, as_of=at(date(2027, 4, 30))).total == 0
    with examples.reading() as uow:
        kinds = set(uow.session.scalars(select(OutboxMessage.kind)))
    assert kinds == {"approval_request", "withdrawn_notice"}
