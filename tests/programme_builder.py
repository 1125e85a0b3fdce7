"""Build a programme of many placements through the real services (registration, transitions,
evaluation), moving time with ``as_of`` instead of sweeping, and keep a record of what was done
so tests can compute the expected figures on their own.

One registration per day, one transaction per placement's run of events (``apply_event_in``),
one per evaluation answer. 500 placements (≈ 3,700 events) cost about 6 s of CPU on SQLite
(13–35 s wall on a busy 2-CPU machine), so ``built_programme`` caches the database file keyed
by the source it depends on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models.schemas import ProgrammeIn, ProposalIn
from states.bootstrap import App
from states.intake.registration import register_programme, register_proposals
from states.lifecycle.loading import load_for_update
from states.lifecycle.transitions import apply_event_in
from tests.evaluation_forms import submit_evaluation

TARGETS: dict[str, int] = {
    "proposal": 6,
    "manager_approval": 8,
    "agreement": 10,
    "placement": 12,
    "evaluation": 10,
    "completed": 30,
    "declined": 8,
    "withdrawn": 8,
    "cancelled": 8,
}
"""Final state → weight; every state of the machine is reached."""

PARTIES = ("participant", "home_manager", "host_contact")
APPROVERS = ("home_manager", "host_contact")
OUTCOME_KEYS = (
    "course",
    "student_projects",
    "joint_application",
    "new_contacts",
    "continued_collaboration",
    "other",
)
FUNDING = (0, 40_000, 80_000, 120_000, 160_000)
HOSTS = 40
PILOT_HOSTS = 8
"""Hosts 0..7 had a placement in an earlier pilot programme: they are returning hosts."""


def host_name(n: int) -> str:
    return f"Host Organisation {n:02d}"


def person_name(kind: str, n: int) -> str:
    """Distinct, fixed-width names: no name is a substring of another."""
    return f"{kind}{n:04d}x Lindqvist"


def person_email(kind: str, n: int) -> str:
    return f"{kind.lower()}{n:04d}@people.example"


@dataclass
class Record:
    """What the builder did to one placement: the test's independent source of truth."""

    reference: str
    target: str
    direction: str
    host: str
    funding_sek: int
    participant: tuple[str, str]
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    accepted_at: datetime | None = None
    changes_requested: bool = False
    reasons: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Built:
    programme: str
    budget_sek: int
    records: list[Record]
    people: dict[str, str]
    """email → name of everyone the builder registered."""
    as_of: datetime


def _programme(key: str, *, budget: int, coordinator: int) -> ProgrammeIn:
    return ProgrammeIn.model_validate(
        {
            "key": key,
            "name": f"Programme {key}",
            "direction": "both",
            "language": "sv",
            "coordinator": {
                "name": person_name("Coord", coordinator),
                "email": person_email("Coord", coordinator),
            },
            "budget_sek": budget,
            "approvals": list(APPROVERS),
            "agreement": {"template": "secondment", "parties": list(PARTIES)},
            "reminders": {"first_after": 3, "repeat_every": 3, "escalate_after": 8},
            "evaluation": {
                "respondents": list(PARTIES),
                "due_after": 10,
                "questions": [
                    {
                        "key": "students",
                        "kind": "scale",
                        "roles": ["participant"],
                        "label": {"sv": "Nytta för studenterna", "en": "Use for students"},
                    }
                ],
            },
        }
    )


def _proposal(
    key: str, n: int, *, host: int, direction: str, start: date, end: date, funding: int
) -> ProposalIn:
    return ProposalIn.model_validate(
        {
            "programme": key,
            "direction": direction,
            "participant": {
                "name": person_name("Part", n),
                "email": person_email("Part", n),
                "language": "en" if n % 3 == 0 else "sv",
            },
            "home_organisation": f"Home Organisation {n % 25:02d}",
            "home_manager": {
                "name": person_name("Mgr", n % 30),
                "email": person_email("Mgr", n % 30),
            },
            "host_organisation": host_name(host),
            "host_contact": {
                "name": person_name("Host", host),
                "email": person_email("Host", host),
            },
            "start": start,
            "end": end,
            "extent_percent": 20,
            "purpose": f"Exchange number {n}.",
            "value_for_home": "Methods.",
            "value_for_host": "Cases.",
            "funding_sek": funding,
        }
    )


class _Run:
    """The events of one placement in one transaction, each at its own moment."""

    def __init__(self, app: App, record: Record) -> None:
        self.app, self.record = app, record

    def __enter__(self) -> Callable[..., str]:
        self.uow = self.app.uow().__enter__()
        # Loaded once: the transition service keeps the row and its steps up to date.
        placement = load_for_update(self.uow.session, self.record.reference)

        def event(name: str, at: datetime, **kwargs: Any) -> str:
            result = apply_event_in(
                self.uow,
                reference=self.record.reference,
                event=name,
                actor="builder",
                via="cli",
                as_of=at,
                placement=placement,
                **kwargs,
            )
            return result.to_state

        return event

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.uow.commit()
        self.uow.__exit__(kind, *rest)


def _answers(rng: random.Random, role: str, record: Record) -> dict[str, list[str]]:
    form = {
        "goals_reached": [str(rng.randint(1, 5))],
        "value_home": [str(rng.randint(1, 5))],
        "value_host": [str(rng.randint(1, 5))],
        "outcomes": rng.sample(OUTCOME_KEYS, rng.randint(0, 3)),
        "again": [rng.choice(("yes", "no"))],
    }
    if rng.random() < 0.4:
        # free texts name people: the purge must scrub them
        form["outcomes_text"] = [f"Worked well with {record.participant[0]} on a course."]
    if role == "participant":
        form["programme_students"] = [str(rng.randint(1, 5))]
    return form


def _stored(form: dict[str, list[str]]) -> dict[str, Any]:
    """What the validation stores for a form the builder made (numbers, booleans, lists)."""
    stored: dict[str, Any] = {}
    for key, values in form.items():
        if key == "outcomes":
            if values:
                stored[key] = list(values)
        elif key == "again":
            stored[key] = values[0] == "yes"
        elif key == "outcomes_text":
            stored[key] = values[0]
        else:
            stored[key] = int(values[0])
    return stored


def build_programme(
    app: App, *, key: str = "followup-2027", n: int = 500, seed: int = 2027
) -> Built:
    rng = random.Random(seed)
    budget = 20_000_000
    register_programme(app.uow(), programme=_programme("pilot-2026", budget=0, coordinator=2))
    register_programme(app.uow(), programme=_programme(key, budget=budget, coordinator=1))
    # the pilot: earlier placements at the first hosts, left as proposals
    pilot = [
        _proposal(
            "pilot-2026",
            9000 + h,
            host=h,
            direction="outgoing",
            start=date(2026, 3, 2),
            end=date(2026, 8, 31),
            funding=0,
        )
        for h in range(PILOT_HOSTS)
    ]
    register_proposals(
        app.uow(),
        proposals=pilot,
        actor="builder",
        via="cli",
        draft=True,
        as_of=datetime(2026, 1, 10, 9, tzinfo=UTC),
    )

    targets = [t for t, w in TARGETS.items() for _ in range(w)]
    people: dict[str, str] = {}
    plans: list[tuple[int, str, ProposalIn, datetime, bool]] = []
    for number in range(n):
        # the first placements reach every state; the rest are drawn by weight
        target = list(TARGETS)[number] if number < len(TARGETS) else rng.choice(targets)
        host = rng.randrange(HOSTS)
        direction = rng.choice(("incoming", "outgoing"))
        start = date(2027, 1, 11) + timedelta(days=rng.randrange(60))
        end = start + timedelta(days=rng.randrange(60, 200))
        proposal = _proposal(
            key,
            number,
            host=host,
            direction=direction,
            start=start,
            end=end,
            funding=rng.choice(FUNDING),
        )
        for person in (proposal.participant, proposal.home_manager, proposal.host_contact):
            people[person.email] = person.name
        submitted = datetime(2026, 9, 1, 7, tzinfo=UTC) + timedelta(days=rng.randrange(90))
        draft = target == "proposal" and number % 2 == 0
        plans.append((number, target, proposal, submitted, draft))

    # One registration per day and kind: what a coordinator's spreadsheet of the day does.
    batches: dict[tuple[datetime, bool], list[int]] = {}
    for number, _, _, submitted, draft in plans:
        batches.setdefault((submitted, draft), []).append(number)
    references: dict[int, str] = {}
    for (submitted, draft), numbers in sorted(batches.items()):
        registered = register_proposals(
            app.uow(),
            proposals=[plans[i][2] for i in numbers],
            actor="builder",
            via="cli",
            draft=draft,
            as_of=submitted,
        )
        references.update((i, r.reference) for i, r in zip(numbers, registered, strict=True))

    records: list[Record] = []
    for number, target, proposal, submitted, draft in plans:
        record = Record(
            references[number],
            target,
            proposal.direction or "",
            proposal.host_organisation,
            proposal.funding_sek,
            (proposal.participant.name, proposal.participant.email),
        )
        records.append(record)
        if not draft:
            record.submitted_at = submitted
        _play(app, rng, record, submitted=submitted, start=proposal.start, end=proposal.end)
    as_of = datetime(2028, 1, 31, 12, tzinfo=UTC)
    return Built(key, budget, records, people, as_of)


def _play(
    app: App, rng: random.Random, record: Record, *, submitted: datetime, start: date, end: date
) -> None:
    target = record.target
    if record.submitted_at is None:
        return
    moment = submitted
    later = lambda low, high: moment + timedelta(hours=rng.uniform(low * 24, high * 24))  # noqa: E731
    started = datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=8)
    with _Run(app, record) as event:
        if target == "proposal" or rng.random() < 0.15:
            moment = later(0.5, 5)
            reason = f"Clarify the plan with {record.participant[0]}."
            event("request_changes", moment, role="home_manager", comment=reason)
            record.changes_requested = True
            record.reasons.append(("request_changes", reason))
            if target == "proposal":
                return
            moment = later(0.5, 3)
            event("revise", moment)
            event("submit", moment)
        if target == "manager_approval":
            if rng.random() < 0.5:
                event("approve", later(0.5, 4), role="home_manager")
            return
        if target == "declined":
            reason = rng.choice(("No time this term.", "Budget is spent."))
            event("decline", later(0.5, 6), role=rng.choice(APPROVERS), comment=reason)
            record.reasons.append(("decline", reason))
            return
        if target == "withdrawn" and rng.random() < 0.5:
            reason = f"{record.participant[0]} changed jobs."
            event("withdraw", later(0.5, 6), comment=reason)
            record.reasons.append(("withdraw", reason))
            return
        for role in rng.sample(APPROVERS, 2):
            moment = later(0.2, 8)
            event("approve", moment, role=role)
        record.approved_at = moment
        if target == "withdrawn":
            reason = "The host reorganised."
            event("withdraw", later(0.5, 4), comment=reason)
            record.reasons.append(("withdraw", reason))
            return
        parties = rng.sample(PARTIES, 3)
        if target == "agreement":
            for role in parties[: rng.randrange(3)]:
                event("accept", later(0.2, 5), role=role)
            return
        for role in parties:
            moment = later(0.2, 6)
            event("accept", moment, role=role)
        record.accepted_at = moment
        if target == "cancelled":
            reason = "Illness."
            event("cancel", started + timedelta(days=5), comment=reason)
            record.reasons.append(("cancel", reason))
            return
        if target == "placement":
            return
        ended = datetime.combine(end, datetime.min.time(), UTC) + timedelta(days=1, hours=7)
        event("end", ended)
    if target == "evaluation":
        respondents = rng.sample(PARTIES, rng.randrange(3))
    else:
        respondents = list(PARTIES)
        if rng.random() < 0.2:  # nobody answers; the evaluation is closed when due
            with _Run(app, record) as event:
                event("close", ended + timedelta(days=20))
            return
    for role in respondents:
        form = _answers(rng, role, record)
        submit_evaluation(
            app.uow(),
            reference=record.reference,
            role=role,
            form=form,
            actor=role,
            via="link",
            as_of=ended + timedelta(days=2),
        )
        record.answers[role] = _stored(form)
