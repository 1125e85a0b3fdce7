"""The reminder policy over the Swedish calendar, escalation digests, and who is reminded."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import ActionToken, OutboxMessage
from states.bootstrap import App
from states.calendar.reminders import latest_day_waiting, reminder_number
from states.calendar.sweep import run_sweep
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.transitions import apply_event
from tests.conftest import EXAMPLES, propose_example

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(day: date, hour: int = 7) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM)


def messages(app: App, kind: str) -> list[OutboxMessage]:
    with app.reading() as uow:
        rows = list(
            uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        )
        uow.session.expunge_all()  # keep them readable after the transaction
        return rows


def propose(
    app: App, *, programme: str = "affilierad-kompetens-2027", tag: str = "", as_of: datetime
) -> str:
    proposal = load_proposals(EXAMPLES / "proposal.yaml")[0]
    proposal = proposal.model_copy(
        update={
            "programme": programme,
            "participant": proposal.participant.model_copy(
                update={"email": f"daniel{tag}@verktyg.example"}
            ),
        }
    )
    return register_proposals(
        app.uow(), proposals=[proposal], actor="sara", via="cli", as_of=as_of
    )[0].reference


def test_reminder_number_follows_first_after_and_repeat_every() -> None:
    assert [reminder_number(d, first_after=3, repeat_every=2) for d in range(9)] == [
        0,
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]


def test_latest_day_waiting_steps_over_easter() -> None:
    assert latest_day_waiting(date(2027, 3, 31), 3) == date(2027, 3, 24)
    assert latest_day_waiting(date(2027, 3, 30), 3) == date(2027, 3, 23)


@pytest.mark.parametrize(
    ("sent", "not_yet", "first"),
    [
        (date(2027, 3, 24), date(2027, 3, 30), date(2027, 3, 31)),  # Good Friday, Easter Monday
        (date(2027, 12, 22), date(2027, 12, 27), date(2027, 12, 28)),  # Christmas Eve and Day
    ],
)
def test_first_reminder_after_three_swedish_business_days(
    examples: App, sent: date, not_yet: date, first: date
) -> None:
    reference = propose_example(examples, as_of=at(sent, 9))
    report = run_sweep(examples.uow, as_of=at(not_yet, 23))
    assert "approval_reminder" not in report.counts
    report = run_sweep(examples.uow, as_of=at(first, 6))
    assert report.counts["approval_reminder"] == 2
    reminders = messages(examples, "approval_reminder")
    requests = messages(examples, "approval_request")
    assert {m.to_email for m in reminders} == {"eva.holm@verktyg.example", "jan.berg@univ.example"}
    # The reminder carries the person's original link, not a new one.
    assert {(m.person_id, m.token_id) for m in reminders} == {
        (m.person_id, m.token_id) for m in requests
    }
    assert all(m.context["number"] == 1 and m.placement_id for m in reminders)
    assert reference


def test_reminders_repeat_every_three_business_days_and_never_twice(examples: App) -> None:
    propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    day, sent_on = date(2027, 3, 25), {}
    while day <= date(2027, 4, 13):
        for _ in range(2):  # a second sweep the same moment sends nothing
            report = run_sweep(examples.uow, as_of=at(day))
            if report.counts.get("approval_reminder"):
                sent_on.setdefault(day, 0)
                sent_on[day] += report.counts["approval_reminder"]
        day += timedelta(days=1)
    assert sent_on == {
        date(2027, 3, 31): 2,
        date(2027, 4, 5): 2,
        date(2027, 4, 8): 2,
        date(2027, 4, 13): 2,
    }
    numbers = sorted(m.context["number"] for m in messages(examples, "approval_reminder"))
    assert numbers == [1, 1, 2, 2, 3, 3, 4, 4]


def test_no_reminder_on_a_holiday_then_the_due_one_next_business_day(examples: App) -> None:
    propose_example(examples, as_of=at(date(2027, 3, 22), 9))  # Monday: due Thursday 25th
    assert "approval_reminder" not in run_sweep(examples.uow, as_of=at(date(2027, 3, 24))).counts
    # Nobody swept on the 25th; Good Friday is no day to nudge people.
    assert "approval_reminder" not in run_sweep(examples.uow, as_of=at(date(2027, 3, 26))).counts
    report = run_sweep(examples.uow, as_of=at(date(2027, 3, 30)))
    assert report.counts["approval_reminder"] == 2


def test_only_people_who_have_not_acted_are_reminded(examples: App) -> None:
    reference = propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    apply_event(
        examples.uow(),
        reference=reference,
        event="approve",
        role="home_manager",
        actor="eva",
        via="link",
        as_of=at(date(2027, 3, 25), 10),
    )
    report = run_sweep(examples.uow, as_of=at(date(2027, 3, 31)))
    assert report.counts["approval_reminder"] == 1
    assert [m.to_email for m in messages(examples, "approval_reminder")] == [
        "jan.berg@univ.example"
    ]


def test_agreement_reminders_skip_who_accepted(examples: App) -> None:
    reference = propose_example(examples, as_of=at(date(2027, 3, 1), 9))
    for role in ("home_manager", "host_contact"):
        apply_event(
            examples.uow(),
            reference=reference,
            event="approve",
            role=role,
            actor=role,
            via="link",
            as_of=at(date(2027, 3, 2), 9),
        )
    apply_event(
        examples.uow(),
        reference=reference,
        event="accept",
        role="participant",
        actor="daniel",
        via="link",
        as_of=at(date(2027, 3, 3), 9),
    )
    report = run_sweep(examples.uow, as_of=at(date(2027, 3, 5)))
    assert report.counts["agreement_reminder"] == 2
    reminded = {m.to_email for m in messages(examples, "agreement_reminder")}
    assert reminded == {"eva.holm@verktyg.example", "jan.berg@univ.example"}
    with examples.reading() as uow:
        purposes = set(
            uow.session.scalars(
                select(ActionToken.purpose)
                .join(OutboxMessage, OutboxMessage.token_id == ActionToken.id)
                .where(OutboxMessage.kind == "agreement_reminder")
            )
        )
    assert purposes == {"agreement"}


def test_escalation_digest_one_email_per_coordinator_listing_every_case(examples: App) -> None:
    sent = at(date(2027, 3, 24), 9)
    first = propose(examples, tag="1", as_of=sent)
    second = propose(examples, tag="2", as_of=sent)
    paus = propose(examples, programme="paus-2027", tag="3", as_of=sent)
    apply_event(
        examples.uow(),
        reference=second,
        event="approve",
        role="home_manager",
        actor="eva",
        via="link",
        as_of=sent,
    )
    # affiliation escalates after 8 business days (7 April), paus after 6 (5 April)
    report = run_sweep(examples.uow, as_of=at(date(2027, 4, 5)))
    assert report.counts["escalation_digest"] == 1
    report = run_sweep(examples.uow, as_of=at(date(2027, 4, 7)))
    assert report.counts["escalation_digest"] == 1
    assert report.counts["escalated_cases"] == 2
    digests = messages(examples, "escalation_digest")
    assert [d.to_email for d in digests] == ["johan.ek@univ.example", "sara.lind@univ.example"]
    assert [c["reference"] for c in digests[0].context["cases"]] == [paus]
    cases = {c["reference"]: c for c in digests[1].context["cases"]}
    assert set(cases) == {first, second}
    assert {w["role"] for w in cases[first]["waiting_for"]} == {"home_manager", "host_contact"}
    assert [w["email"] for w in cases[second]["waiting_for"]] == ["jan.berg@univ.example"]
    assert cases[first]["business_days"] == 8
    assert cases[first]["waiting_since"] == "2027-03-24"
    assert cases[first]["step"] == "approval"
    assert digests[1].placement_id is None
    # Each case is escalated once per step: later sweeps send no further digest.
    assert "escalation_digest" not in run_sweep(examples.uow, as_of=at(date(2027, 4, 8))).counts


def test_same_sweep_twice_sends_nothing_twice(examples: App) -> None:
    propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    moment = at(date(2027, 4, 7))
    first = run_sweep(examples.uow, as_of=moment)
    second = run_sweep(examples.uow, as_of=moment)
    assert first.counts["approval_reminder"] == 2 and first.counts["escalation_digest"] == 1
    assert second.total == 0
    with examples.reading() as uow:
        count = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count == 2 + 2 + 1  # requests, reminders, digest


def test_after_a_pause_in_sweeping_the_person_is_told_their_own_count(examples: App) -> None:
    """Nobody swept for a week: one reminder goes out (not a burst), numbered 1 for them."""
    propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    report = run_sweep(examples.uow, as_of=at(date(2027, 4, 6)))  # slot 2 is due
    assert report.counts["approval_reminder"] == 2
    assert [m.context["number"] for m in messages(examples, "approval_reminder")] == [1, 1]
    run_sweep(examples.uow, as_of=at(date(2027, 4, 8)))  # slot 3
    assert [m.context["number"] for m in messages(examples, "approval_reminder")] == [1, 1, 2, 2]
