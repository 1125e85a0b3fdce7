"""Which emails the run must have caused, worked out from the history rows, the sweep runs and
the programme file alone — written from what the notification rules mean, without calling
the product's rule table, its sweep or its calendar.

Each transition tells people what happened to them; each sweep on a business day (a sweep on
a closed day writes to nobody) sends the start notice the programme's number of business days
before the first day (a welcome on the first day where the programme wants one), the check-in
at the midpoint, a reminder to everyone who has waited the programme's number of business days
(and again every ``repeat_every``), and one digest to the coordinator listing the cases that
have newly waited ``escalate_after``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

STOCKHOLM = ZoneInfo("Europe/Stockholm")

Expected = tuple[int | None, str, str]
"""(placement id, kind of email, recipient's address); None: not about one placement."""


@dataclass(frozen=True)
class Row:
    version: int
    event: str
    from_state: str | None
    to_state: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class People:
    participant: str
    home_manager: str
    host_contact: str
    coordinator: str

    def of(self, roles: Iterable[str]) -> list[str]:
        return [getattr(self, role) for role in roles]


@dataclass(frozen=True)
class Rules:
    """What the programme file says."""

    approvers: tuple[str, ...]
    parties: tuple[str, ...]
    respondents: tuple[str, ...]
    first_after: int
    repeat_every: int
    escalate_after: int
    notice_days: int = 2
    """Business days before the first day that the start notice goes out (0: none)."""
    welcome: bool = False


def business_day(day: date) -> bool:
    """A weekday that is no Swedish public holiday, nor midsummer, Christmas or New Year's eve."""
    closed = set(holidays.country_holidays("SE", years=day.year))
    june = [date(day.year, 6, d) for d in range(19, 26)]
    midsummer_eve = next(d for d in june if d.weekday() == 4)
    closed |= {midsummer_eve, date(day.year, 12, 24), date(day.year, 12, 31)}
    return day.weekday() < 5 and day not in closed


def waited(since: date, today: date) -> int:
    """Business days after the request day, up to and including today."""
    return sum(business_day(since + timedelta(days=n)) for n in range(1, (today - since).days + 1))


def business_days_ahead(today: date, days: int) -> date:
    """The day ``days`` business days after ``today``."""
    day = today
    while days:
        day += timedelta(days=1)
        days -= business_day(day)
    return day


def local_day(moment: datetime) -> date:
    return moment.astimezone(STOCKHOLM).date()


def transition_emails(
    row: Row, people: People, rules: Rules, reached_agreement: bool
) -> list[tuple[str, str]]:
    """(kind, address) of every email one history row causes."""
    told = [people.participant, people.coordinator]
    step = (row.event, row.to_state)
    if step == ("submit", "manager_approval"):
        return [("approval_request", a) for a in people.of(rules.approvers)]
    if step == ("approve", "agreement"):
        return [("decision_notice", a) for a in told] + [
            ("agreement_request", a) for a in people.of(rules.parties)
        ]
    if step == ("decline", "declined"):  # and the other approvers: their part is over
        others = [a for a in people.of(rules.approvers) if a != row.actor]
        return [("decision_notice", a) for a in told] + [
            ("co_approver_declined", a) for a in dict.fromkeys(others)
        ]
    if step == ("accept", "placement"):
        return [("placement_confirmed", a) for a in people.of(rules.parties)]
    if step == ("end", "evaluation"):
        return [("evaluation_request", a) for a in people.of(rules.respondents)]
    if step in {("answer", "completed"), ("close", "completed")}:
        return [("completion_notice", a) for a in told]
    if step == ("withdraw", "withdrawn"):  # everyone asked so far, once each
        asked = [*told, *people.of(rules.approvers)]
        asked += people.of(rules.parties) if reached_agreement else []
        return [("withdrawn_notice", a) for a in dict.fromkeys(asked)]
    if step == ("cancel", "cancelled"):
        everyone = [people.participant, people.home_manager, people.host_contact]
        return [("cancelled_notice", a) for a in [*everyone, people.coordinator]]
    return []  # registering, one approval or acceptance or answer of several: nobody is told


# A waiting step: its name, the state it waits in, the event that requests it, who is asked,
# and the events by which each of them is done with it.
Step = tuple[str, str, str, str, set[str]]
STEPS: tuple[Step, ...] = (
    ("approval", "manager_approval", "submit", "approvers", {"approve", "decline"}),
    ("agreement", "agreement", "approve", "parties", {"accept"}),
    ("evaluation", "evaluation", "end", "respondents", {"answer"}),
)

# The state whose step an emailed link acts on, by kind of email.
LINK_STATES = {
    "approval_request": "manager_approval",
    "approval_reminder": "manager_approval",
    "agreement_request": "agreement",
    "agreement_reminder": "agreement",
    "evaluation_request": "evaluation",
    "evaluation_reminder": "evaluation",
    "checkin_request": "placement",
}


@dataclass
class Placement:
    id: int
    people: People
    start: date
    end: date
    history: Sequence[Row]
    noticed: bool = False
    welcomed: bool = False
    checked_in: bool = False
    reminded: set[tuple[str, str, int]] = field(default_factory=set)
    escalated: set[tuple[str, datetime]] = field(default_factory=set)

    def rows_until(self, moment: datetime) -> list[Row]:
        return [row for row in self.history if row.at <= moment]

    def state_at(self, moment: datetime) -> str | None:
        """The state at ``moment``; None before it was registered."""
        rows = self.rows_until(moment)
        return rows[-1].to_state if rows else None


def may_be_cancelled(placement: Placement, kind: str) -> bool:
    """An email whose link acts on a step may be held back, unsent, if the step was over by
    the time it would have gone out: only if the placement left that step's state."""
    state = LINK_STATES.get(kind)
    return state is not None and any(
        row.from_state == state and row.to_state != state for row in placement.history
    )


class Oracle:
    def __init__(self, rules: Rules, placements: Sequence[Placement]) -> None:
        self.rules = rules
        self.placements = placements
        self.expected: Counter[Expected] = Counter()

    def run(self, sweeps: Sequence[datetime]) -> Counter[Expected]:
        for placement in self.placements:
            self._transitions(placement)
        for moment in sorted(sweeps):
            digest = [self._sweep(placement, moment) for placement in self.placements]
            if any(digest):
                coordinator = self.placements[0].people.coordinator
                self.expected[(None, "escalation_digest", coordinator)] += 1
        return self.expected

    def _transitions(self, placement: Placement) -> None:
        reached_agreement = False
        for row in placement.history:
            emails = transition_emails(row, placement.people, self.rules, reached_agreement)
            for kind, address in emails:
                self.expected[(placement.id, kind, address)] += 1
            reached_agreement |= row.to_state == "agreement"

    def _sweep(self, placement: Placement, moment: datetime) -> bool:
        """Queue what this sweep sends about ``placement``; True if it is newly escalated."""
        state, today = placement.state_at(moment), local_day(moment)
        if state is None:
            return False
        if not business_day(today):
            return False
        to_both = (placement.people.participant, placement.people.host_contact)
        started = placement.start <= today
        notice_day = business_days_ahead(today, self.rules.notice_days) >= placement.start
        notice = self.rules.notice_days and not started and notice_day
        if state == "placement" and notice and not placement.noticed:
            for address in to_both:
                self.expected[(placement.id, "placement_starts", address)] += 1
            placement.noticed = True
        if state == "placement" and started and self.rules.welcome and not placement.welcomed:
            if today <= placement.start + timedelta(days=7):
                self.expected[
                    (placement.id, "placement_welcome", placement.people.participant)
                ] += 1
            placement.welcomed = True
        midpoint = (placement.start - today).days + (placement.end - today).days <= 0
        if state == "placement" and started and midpoint and not placement.checked_in:
            for address in to_both:
                self.expected[(placement.id, "checkin_request", address)] += 1
            placement.checked_in = True
        return any(self._remind(placement, moment, step) for step in STEPS if step[1] == state)

    def _remind(self, placement: Placement, moment: datetime, step: Step) -> bool:
        name, state, requested_by, who, done_by = step
        rows = placement.rows_until(moment)
        request = next(
            r
            for r in reversed(rows)
            if r.event == requested_by and r.to_state == state and r.from_state != state
        )
        done = {r.actor for r in rows if r.version > request.version and r.event in done_by}
        pending = [a for a in placement.people.of(getattr(self.rules, who)) if a not in done]
        days, rules = waited(local_day(request.at), local_day(moment)), self.rules
        number = 0
        if days >= rules.first_after:
            number = 1 + (days - rules.first_after) // rules.repeat_every
        for address in dict.fromkeys(pending):
            if number and (name, address, number) not in placement.reminded:
                placement.reminded.add((name, address, number))
                self.expected[(placement.id, f"{name}_reminder", address)] += 1
        key = (name, request.at)
        if pending and days >= rules.escalate_after and key not in placement.escalated:
            placement.escalated.add(key)
            return True
        return False
