"""The scale-out proof's oracle on a history written by hand (pure logic, runs in `make test`):
what it expects must be what the rules mean, or the proof proves nothing."""

from __future__ import annotations

from datetime import date, datetime

from tests.scale import oracle
from tests.scale.oracle import STOCKHOLM, Oracle, People, Placement, Row, Rules

RULES = Rules(
    approvers=("home_manager", "host_contact"),
    parties=("participant", "home_manager", "host_contact"),
    respondents=("participant", "host_contact"),
    first_after=2,
    repeat_every=2,
    escalate_after=4,
)
PEOPLE = People("p@x.example", "m@x.example", "h@x.example", "c@x.example")


def at(day: int, hour: int) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=STOCKHOLM)  # 1 March 2027 is a Monday


def sweeps(*days: int) -> list[datetime]:
    return [at(day, 7) for day in days]


def test_a_host_who_answers_only_the_second_reminder_is_reminded_twice_and_escalated() -> None:
    history = [
        Row(1, "register", None, "proposal", "c", at(1, 8)),
        Row(2, "submit", "proposal", "manager_approval", "c", at(1, 8)),
        Row(3, "approve", "manager_approval", "manager_approval", "m@x.example", at(1, 9)),
        Row(4, "approve", "manager_approval", "agreement", "h@x.example", at(5, 9)),
        Row(5, "withdraw", "agreement", "withdrawn", "c", at(5, 10)),
    ]
    placement = Placement(1, PEOPLE, date(2027, 3, 8), date(2027, 3, 22), history)
    expected = Oracle(RULES, [placement]).run(sweeps(1, 2, 3, 4, 5, 8))
    assert expected == {
        (1, "approval_request", "m@x.example"): 1,
        (1, "approval_request", "h@x.example"): 1,
        (1, "approval_reminder", "h@x.example"): 2,  # Wednesday (2 days), Friday (4 days)
        (None, "escalation_digest", "c@x.example"): 1,  # Friday, once
        (1, "decision_notice", "p@x.example"): 1,
        (1, "decision_notice", "c@x.example"): 1,
        (1, "agreement_request", "p@x.example"): 1,
        (1, "agreement_request", "m@x.example"): 1,
        (1, "agreement_request", "h@x.example"): 1,
        (1, "withdrawn_notice", "p@x.example"): 1,
        (1, "withdrawn_notice", "c@x.example"): 1,
        (1, "withdrawn_notice", "m@x.example"): 1,
        (1, "withdrawn_notice", "h@x.example"): 1,
    }
    assert oracle.may_be_cancelled(placement, "agreement_request")
    assert not oracle.may_be_cancelled(placement, "withdrawn_notice")


def test_start_notice_and_check_in_come_once_on_the_first_sweep_they_are_due() -> None:
    history = [
        Row(1, "register", None, "proposal", "c", at(1, 8)),
        Row(2, "submit", "proposal", "manager_approval", "c", at(1, 8)),
        Row(3, "approve", "manager_approval", "manager_approval", "m@x.example", at(1, 9)),
        Row(4, "approve", "manager_approval", "agreement", "h@x.example", at(1, 9)),
        Row(5, "accept", "agreement", "agreement", "p@x.example", at(1, 9)),
        Row(6, "accept", "agreement", "agreement", "m@x.example", at(1, 9)),
        Row(7, "accept", "agreement", "placement", "h@x.example", at(1, 9)),
    ]
    # Starts on Saturday 6 March: the notice goes out two business days ahead, on Friday's
    # sweep (Thursday had none); the midpoint of 6–20 March is the 13th (a Saturday): the
    # check-in goes out on Monday the 15th.
    placement = Placement(1, PEOPLE, date(2027, 3, 6), date(2027, 3, 20), history)
    expected = Oracle(RULES, [placement]).run(sweeps(2, 5, 8, 9, 12, 15, 16))
    kinds = {(kind, address): n for (_, kind, address), n in expected.items()}
    assert kinds[("placement_starts", "p@x.example")] == 1
    assert kinds[("placement_starts", "h@x.example")] == 1
    assert kinds[("checkin_request", "p@x.example")] == 1
    assert kinds[("checkin_request", "h@x.example")] == 1
    assert not any(kind.endswith("_reminder") for kind, _ in kinds)
    # The check-in is due from the 15th on, not before: without that sweep, none.
    early = Placement(1, PEOPLE, date(2027, 3, 6), date(2027, 3, 20), history)
    assert (1, "checkin_request", "p@x.example") not in Oracle(RULES, [early]).run(sweeps(8, 12))
    # A notice is of use only before the first day: a sweep first run on the 8th sends none.
    late = Placement(1, PEOPLE, date(2027, 3, 6), date(2027, 3, 20), history)
    assert (1, "placement_starts", "p@x.example") not in Oracle(RULES, [late]).run(sweeps(8))
    # Two business days ahead: on Wednesday the 3rd, Friday the 5th is not yet the 6th.
    wednesday = Placement(1, PEOPLE, date(2027, 3, 6), date(2027, 3, 20), history)
    assert (1, "placement_starts", "p@x.example") not in Oracle(RULES, [wednesday]).run(sweeps(3))


def test_a_decline_tells_the_other_approver_and_a_closed_day_sends_nothing() -> None:
    history = [
        Row(1, "register", None, "proposal", "c", at(1, 8)),
        Row(2, "submit", "proposal", "manager_approval", "c", at(1, 8)),
        Row(3, "decline", "manager_approval", "declined", "m@x.example", at(8, 9)),
    ]
    placement = Placement(1, PEOPLE, date(2027, 4, 5), date(2027, 4, 30), history)
    # Saturday the 6th and Sunday the 7th are closed: no reminder although both have waited.
    expected = Oracle(RULES, [placement]).run([at(6, 7), at(7, 7)])
    assert expected[(1, "co_approver_declined", "h@x.example")] == 1
    assert (1, "co_approver_declined", "m@x.example") not in expected
    assert expected[(1, "decision_notice", "p@x.example")] == 1
    assert not any(kind.endswith("_reminder") for _, kind, _ in expected)
