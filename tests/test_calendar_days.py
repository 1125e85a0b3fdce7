"""Which email goes out on which day, on the real Swedish calendar, in Europe/Stockholm.

The sweep is run as ``prefect.yaml`` would run it, at 06:30 every morning — weekends and
holidays included, to show that it writes to nobody on a closed day. A placement "till och
med" its last day ends after that day: the evaluation request goes out on the first business
morning after it. The start notice goes out the programme's number of business days before the
first day (default 2), the optional welcome on the first business day of the placement.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import OutboxMessage, Programme
from states.bootstrap import App
from states.calendar.sweep import run_sweep
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.queries import get_placement
from states.lifecycle.transitions import apply_event
from tests.conftest import EXAMPLES

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PROGRAMME = "affilierad-kompetens-2027"  # approvals and agreement: home manager, host contact
MORNING = time(6, 30)


def morning(day: date) -> datetime:
    return datetime.combine(day, MORNING, tzinfo=STOCKHOLM)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def confirmed_placement(app: App, *, start: date, end: date, confirmed: datetime) -> str:
    """The example proposal with this period, approved and accepted by every party at
    ``confirmed`` (registered the day before)."""
    proposal = load_proposals(EXAMPLES / "proposal.yaml")[0]
    proposal = proposal.model_copy(update={"programme": PROGRAMME, "start": start, "end": end})
    reference = register_proposals(
        app.uow(),
        proposals=[proposal],
        actor="sara",
        via="cli",
        as_of=confirmed - timedelta(days=1),
    )[0].reference
    for event, roles in (
        ("approve", ("home_manager", "host_contact")),
        ("accept", ("participant", "home_manager", "host_contact")),
    ):
        for role in roles:
            apply_event(
                app.uow(),
                reference=reference,
                event=event,
                role=role,
                actor=role,
                via="link",
                as_of=confirmed,
            )
    return reference


def past_the_checkin(app: App) -> None:
    """A sweep after the midpoint of a placement from 18 January: its check-in is asked (and
    out of the way of what the test looks at)."""
    assert sweep_every_morning(app, date(2027, 4, 13), date(2027, 4, 13)) == {
        "checkin_request": {date(2027, 4, 13)}
    }


def programme_settings(app: App, **values: object) -> None:
    with app.uow() as uow:
        programme = uow.session.scalars(select(Programme).where(Programme.key == PROGRAMME)).one()
        for name, value in values.items():
            setattr(programme, name, value)
        uow.commit()


def sweep_every_morning(app: App, first: date, last: date) -> dict[str, set[date]]:
    """Run the 06:30 sweep on each day; the Stockholm days each email kind was queued on."""
    with app.reading() as uow:
        seen = set(uow.session.scalars(select(OutboxMessage.id)))
    for day in days(first, last):
        run_sweep(app.uow, as_of=morning(day))
    queued: dict[str, set[date]] = defaultdict(set)
    with app.reading() as uow:
        for row in uow.session.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(seen))):
            local = row.created_at.astimezone(STOCKHOLM)
            assert local.time() == MORNING, (row.kind, local)
            queued[row.kind].add(local.date())
    return dict(queued)


def recipients_of(app: App, kind: str) -> set[str]:
    with app.reading() as uow:
        return set(
            uow.session.scalars(select(OutboxMessage.to_email).where(OutboxMessage.kind == kind))
        )


# --- the end: after the last day ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_day", "evaluation_requested", "why"),
    [
        # Friday 18 June 2027: the next morning is a Saturday; the first business one a Monday.
        (date(2027, 6, 18), date(2027, 6, 21), "a Friday before the midsummer week"),
        # Friday 25 June 2027 is Midsummer Eve, Saturday Midsummer Day: Monday 28 June.
        (date(2027, 6, 25), date(2027, 6, 28), "the Friday before Midsummer (Midsummer Eve)"),
        # Thursday 24 June: the day after is Midsummer Eve, a weekday the offices are closed.
        (date(2027, 6, 24), date(2027, 6, 28), "the Thursday before Midsummer Eve"),
    ],
)
def test_the_evaluation_request_goes_out_on_the_first_business_morning_after_the_last_day(
    any_app: App, last_day: date, evaluation_requested: date, why: str
) -> None:
    from tests.conftest import load_examples

    load_examples(any_app)
    app = any_app
    reference = confirmed_placement(
        app, start=date(2027, 1, 18), end=last_day, confirmed=morning(date(2027, 1, 5))
    )
    past_the_checkin(app)
    # Up to and including the last day the placement runs: nothing is sent, nothing ends.
    before = sweep_every_morning(app, last_day - timedelta(days=3), last_day)
    assert before == {}, why
    assert get_placement(app.reading(), reference=reference).state == "placement"

    after = sweep_every_morning(app, last_day + timedelta(days=1), evaluation_requested)
    assert after == {"evaluation_request": {evaluation_requested}}, why
    detail = get_placement(app.reading(), reference=reference)
    assert detail.state == "evaluation"
    (ended,) = [h for h in detail.history if h.event == "end"]
    assert ended.at.astimezone(STOCKHOLM) == morning(evaluation_requested)
    assert recipients_of(app, "evaluation_request") == {
        "daniel.aberg@verktyg.example",
        "eva.holm@verktyg.example",
        "jan.berg@univ.example",
    }


def test_after_midsummer_the_evaluation_is_reminded_and_closed_on_business_days(
    examples: App,
) -> None:
    """The whole tail of a placement "till och med 25 juni 2027" (Midsummer Eve): the request
    on Monday 28 June, reminders every 3 business days (1 and 6 July), the coordinator's digest
    after 8 (8 July), the close 10 business days after the last day (9 July), each at 06:30
    Stockholm time."""
    app = examples
    reference = confirmed_placement(
        app, start=date(2027, 1, 18), end=date(2027, 6, 25), confirmed=morning(date(2027, 1, 5))
    )
    past_the_checkin(app)
    queued = sweep_every_morning(app, date(2027, 6, 21), date(2027, 7, 12))
    assert queued == {
        "evaluation_request": {date(2027, 6, 28)},
        "evaluation_reminder": {date(2027, 7, 1), date(2027, 7, 6)},  # every 3 business days
        "escalation_digest": {date(2027, 7, 8)},  # 8 business days without an answer
        "completion_notice": {date(2027, 7, 9)},
    }
    detail = get_placement(app.reading(), reference=reference)
    assert detail.evaluation_due_on == date(2027, 7, 9)
    assert detail.state == "completed"


# --- the start: a notice before it, a welcome on the first day ---------------------------------


@pytest.mark.parametrize(
    ("first_day", "notice", "welcome", "why"),
    [
        # Easter 2027: Good Friday 26 March and Easter Monday 29 March are public holidays.
        # Two business days before Easter Monday are Thursday 25 and Wednesday 24 March;
        # the first business day of the placement is Tuesday 30 March.
        (date(2027, 3, 29), date(2027, 3, 24), date(2027, 3, 30), "a start on Easter Monday"),
        # The Monday a week after: Friday 2 April and Thursday 1 April are the two days before.
        (date(2027, 4, 5), date(2027, 4, 1), date(2027, 4, 5), "the first Monday after Easter"),
    ],
)
def test_the_start_notice_comes_two_business_days_before_and_the_welcome_on_the_first_day(
    any_app: App, first_day: date, notice: date, welcome: date, why: str
) -> None:
    from tests.conftest import load_examples

    load_examples(any_app)
    app = any_app
    programme_settings(app, welcome_on_start=True)  # the default is 2 business days
    confirmed_placement(
        app, start=first_day, end=date(2027, 9, 30), confirmed=morning(date(2027, 3, 1))
    )
    queued = sweep_every_morning(app, date(2027, 3, 15), first_day + timedelta(days=10))
    assert queued == {"placement_starts": {notice}, "placement_welcome": {welcome}}, why
    assert recipients_of(app, "placement_starts") == {
        "daniel.aberg@verktyg.example",
        "jan.berg@univ.example",  # the host contact: time to prepare a card and an account
    }
    assert recipients_of(app, "placement_welcome") == {"daniel.aberg@verktyg.example"}


def test_no_welcome_unless_the_programme_wants_one_and_the_notice_days_are_its_own(
    examples: App,
) -> None:
    app = examples
    programme_settings(app, start_notice_days=5)
    confirmed_placement(
        app, start=date(2027, 4, 5), end=date(2027, 9, 30), confirmed=morning(date(2027, 3, 1))
    )
    # Five business days before Monday 5 April: 2, 1 April, 31, 30, 25 March (26 and 29 closed).
    queued = sweep_every_morning(app, date(2027, 3, 15), date(2027, 4, 15))
    assert queued == {"placement_starts": {date(2027, 3, 25)}}


def test_no_start_notice_when_the_programme_sends_none(examples: App) -> None:
    app = examples
    programme_settings(app, start_notice_days=0)
    confirmed_placement(
        app, start=date(2027, 4, 5), end=date(2027, 9, 30), confirmed=morning(date(2027, 3, 1))
    )
    assert sweep_every_morning(app, date(2027, 3, 15), date(2027, 4, 15)) == {}


def test_a_placement_confirmed_after_its_notice_day_is_told_before_the_start(
    examples: App,
) -> None:
    """Confirmed on Thursday 1 April at 10:00, after that morning's sweep: the notice goes out
    the next morning, Friday 2 April, still before the first day; one confirmed on the first
    day itself gets no notice at all (the confirmation said it all)."""
    app = examples
    confirmed_placement(
        app,
        start=date(2027, 4, 5),
        end=date(2027, 9, 30),
        confirmed=datetime(2027, 4, 1, 10, tzinfo=STOCKHOLM),
    )
    queued = sweep_every_morning(app, date(2027, 4, 2), date(2027, 4, 9))
    assert queued == {"placement_starts": {date(2027, 4, 2)}}


def test_the_programme_file_sets_the_notice_days_and_the_welcome(
    app: App, tmp_path: object
) -> None:
    from states.intake.input_files import load_programme
    from states.intake.registration import register_programme

    text = (EXAMPLES / "programme-paus.yaml").read_text(encoding="utf-8")
    defaults, _ = load_programme(EXAMPLES / "programme-paus.yaml")
    assert (defaults.start_notice.business_days_before, defaults.start_notice.welcome) == (2, False)
    path = tmp_path / "programme.yaml"  # type: ignore[operator]
    path.write_text(
        text + "start_notice:\n  business_days_before: 3\n  welcome: true\n", encoding="utf-8"
    )
    programme, source = load_programme(path)
    register_programme(app.uow(), programme=programme, source=source)
    with app.reading() as uow:
        stored = uow.session.scalars(select(Programme).where(Programme.key == "paus-2027")).one()
        assert (stored.start_notice_days, stored.welcome_on_start) == (3, True)
