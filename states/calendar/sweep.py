"""The sweep: what the calendar says is due at ``as_of``, done once.

Framework-free (no Prefect here): ``flows/sweep.py`` and ``mobility run sweep`` call
``run_sweep``. What it does, in this order:

1. closes evaluations whose due date has come (``close`` → completed);
2. ends placements whose end date has come (``end`` → evaluation; the transition queues the
   evaluation requests);
3. sends the "placement starts" notice on the start date (participant and host contact);
4. asks for a check-in at the midpoint (participant and host contact, a link each);
5. reminds each person who has not acted yet in manager approval, the agreement and the
   evaluation, following the programme's ``reminders`` in Swedish business days counted from
   the request (only on business days: nobody is nudged on a holiday);
6. escalates every case waiting ``escalate_after`` business days to its programme's
   coordinator: one digest per coordinator per sweep.

Idempotent by construction: every message is guarded by a row with a unique key — a
``ReminderLog`` (placement, step, person, kind, number), a check-in ``EvaluationResponse``
(placement, kind, role) or the placement's version for transitions — claimed with
INSERT … ON CONFLICT DO NOTHING (or a savepoint) in the transaction that queues the email, so a
second sweep, or two at once, sends nothing twice. The outbox ``dedupe_key`` backs this up.

Cost follows what can be due, not what exists: every query starts from a placement state and
a date bound, and the work is done in small batches, one transaction each.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Date, cast, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from models import (
    ActionToken,
    EvaluationResponse,
    Person,
    Placement,
    Programme,
    ReminderLog,
    table_of,
)
from states.business_days import business_days_between, is_business_day
from states.errors import MobilityError
from states.lifecycle.loading import WITH_PEOPLE
from states.lifecycle.outbox import mint_link, queue_message
from states.lifecycle.policy import Recipient
from states.lifecycle.steps import CHECKIN, REMINDED, Step
from states.lifecycle.transitions import apply_event_in
from states.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SWEEP_ACTOR = "sweep"
BATCH_SIZE = 100
"""Placements (or waiting people) per transaction: short write locks, bounded memory."""


class UowFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass
class SweepReport:
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    """One line per item that failed unexpectedly; the rest of the sweep went on."""

    def add(self, kind: str, number: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + number

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "counts": dict(sorted(self.counts.items())),
            "failures": list(self.failures),
        }


@dataclass(frozen=True)
class Moment:
    """``as_of`` seen in the programme's time zone."""

    as_of: datetime
    today: date

    @classmethod
    def of(cls, as_of: datetime, uow: UnitOfWork) -> Moment:
        if as_of.tzinfo is None:
            raise ValueError("as_of must carry a time zone")
        local = as_of.astimezone(uow.config.timezone)
        return cls(as_of=local, today=local.date())

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.as_of.tzinfo).date()

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.as_of.tzinfo)


# --- the reminder policy (pure) -------------------------------------------------------------


def reminder_number(waited: int, *, first_after: int, repeat_every: int) -> int:
    """Which reminder is due after ``waited`` business days: 0 (none yet), 1, 2, ..."""
    if waited < first_after:
        return 0
    return 1 + (waited - first_after) // repeat_every


def latest_day_waiting(today: date, business_days: int) -> date:
    """The last request day that has waited at least ``business_days`` business days by
    ``today``: requests made later cannot be due yet (the query's date bound)."""
    day = today
    while business_days_between(day, today) < business_days:
        day -= timedelta(days=1)
    return day


# --- claiming a unique key ------------------------------------------------------------------

_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


ClaimKey = tuple[int, str, int, str, int]
"""(placement_id, step, person_id, kind, number): ReminderLog's unique key."""


def claim_many(session: Session, keys: Sequence[ClaimKey], *, at: datetime) -> set[ClaimKey]:
    """Insert the ReminderLog rows that do not exist yet, in one statement; return the keys
    this call inserted. On PostgreSQL a concurrent insert of the same key waits for the other
    transaction, then does nothing (keys go in a fixed order, so two sweeps cannot deadlock);
    on SQLite writers are serialised by BEGIN IMMEDIATE."""
    if not keys:
        return set()
    insert = _INSERTS[session.get_bind().dialect.name]
    table = table_of(ReminderLog)
    rows = session.execute(
        insert(table)
        .values(
            [
                {"placement_id": p, "step": s, "person_id": who, "kind": k, "number": n, "at": at}
                for p, s, who, k, n in keys
            ]
        )
        .on_conflict_do_nothing()
        .returning(
            table.c.placement_id, table.c.step, table.c.person_id, table.c.kind, table.c.number
        )
    ).all()
    return {(row[0], row[1], row[2], row[3], row[4]) for row in rows}


def claim(
    session: Session,
    *,
    placement_id: int,
    step: str,
    person_id: int,
    kind: str,
    number: int,
    at: datetime,
) -> bool:
    """``claim_many`` for one key: True if this call inserted it."""
    key = (placement_id, step, person_id, kind, number)
    return key in claim_many(session, [key], at=at)


T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _each_in_savepoint(
    session: Session, report: SweepReport, label: str, action: Callable[[], None]
) -> None:
    """Run one item's changes in a savepoint: a refusal (someone was faster) or a failure
    undoes that item only."""
    try:
        with session.begin_nested():
            action()
    except (MobilityError, IntegrityError):
        report.add("skipped")
    except Exception as error:  # one bad placement must not stop the sweep
        log.exception("sweep: %s failed", label)
        report.failures.append(f"{label}: {type(error).__name__}: {error}")


# --- 1 and 2: transitions by date -----------------------------------------------------------


@dataclass(frozen=True)
class DateTransition:
    event: str
    state: str
    due: Callable[[date], ColumnElement[bool]]
    count_as: str


DATE_TRANSITIONS: tuple[DateTransition, ...] = (
    DateTransition(
        "close", "evaluation", lambda today: Placement.evaluation_due_on <= today, "closed"
    ),
    DateTransition("end", "placement", lambda today: Placement.end_date <= today, "ended"),
)


def _run_transitions(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
    for rule in DATE_TRANSITIONS:
        with uow_factory().reading() as reader:
            references = list(
                reader.session.scalars(
                    select(Placement.reference)
                    .where(Placement.state == rule.state, rule.due(moment.today))
                    .order_by(Placement.id)
                )
            )
        for batch in chunks(references):
            with uow_factory() as uow:
                for reference in batch:
                    _each_in_savepoint(
                        uow.session,
                        report,
                        f"{rule.event} {reference}",
                        partial(_transition, uow, rule, reference, moment, report),
                    )
                uow.commit()


def _transition(
    uow: UnitOfWork, rule: DateTransition, reference: str, moment: Moment, report: SweepReport
) -> None:
    apply_event_in(
        uow,
        reference=reference,
        event=rule.event,
        actor=SWEEP_ACTOR,
        via="flow",
        as_of=moment.as_of,
    )
    report.add(rule.count_as)


# --- 3: the start date ----------------------------------------------------------------------

START_ROLES = ("participant", "host_contact")
START_NOTICE_DAYS = 14
"""A start notice is sent up to two weeks after the start (a sweep may have been down); later it
would only confuse. The bound also keeps the query to recent starts, not every running one."""


def _placements_with_people(session: Session, ids: Iterable[int]) -> list[Placement]:
    return list(
        session.scalars(
            select(Placement)
            .where(Placement.id.in_(list(ids)))
            .options(*WITH_PEOPLE)
            .order_by(Placement.id)
        ).unique()
    )


def _start_notices(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
    noticed = exists().where(ReminderLog.placement_id == Placement.id, ReminderLog.kind == "start")
    with uow_factory().reading() as reader:
        ids = list(
            reader.session.scalars(
                select(Placement.id)
                .where(
                    Placement.state == "placement",
                    Placement.start_date <= moment.today,
                    Placement.start_date > moment.today - timedelta(days=START_NOTICE_DAYS),
                    ~noticed,
                )
                .order_by(Placement.id)
            )
        )
    for batch in chunks(ids):
        with uow_factory() as uow:
            session = uow.session
            for placement in _placements_with_people(session, batch):
                if placement.state != "placement":
                    continue
                for role in START_ROLES:
                    person = placement.person_for_role(role)
                    if claim(
                        session,
                        placement_id=placement.id,
                        step="start",
                        person_id=person.id,
                        kind="start",
                        number=1,
                        at=moment.as_of,
                    ):
                        queue_message(
                            uow,
                            kind="placement_starts",
                            person=person,
                            placement=placement,
                            now=moment.as_of,
                            context={"recipient_role": role},
                            dedupe_key=f"placement_starts:{placement.id}:{person.id}",
                        )
                        report.add("placement_starts")
            uow.commit()


# --- 4: the check-in at the midpoint --------------------------------------------------------


def midpoint(start: date, end: date) -> date:
    return start + timedelta(days=-(-(end - start).days // 2))


def _past_midpoint(dialect: str, today: date) -> ColumnElement[bool]:
    """start + end <= 2 × today, in each dialect's date arithmetic (days, not timestamps)."""
    if dialect == "sqlite":
        return func.julianday(Placement.start_date) + func.julianday(
            Placement.end_date
        ) <= 2 * func.julianday(literal(today.isoformat()))
    day = cast(literal(today), Date)
    return (Placement.start_date - day) + (Placement.end_date - day) <= 0


def _checkins(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
    asked = exists().where(EvaluationResponse.placement_id == Placement.id, CHECKIN.current_sql())
    with uow_factory().reading() as reader:
        dialect = reader.dialect
        ids = list(
            reader.session.scalars(
                select(Placement.id)
                .where(
                    Placement.state == CHECKIN.state,
                    Placement.start_date <= moment.today,
                    _past_midpoint(dialect, moment.today),
                    ~asked,
                )
                .order_by(Placement.id)
            )
        )
    for batch in chunks(ids):
        with uow_factory() as uow:
            for placement in _placements_with_people(uow.session, batch):
                if placement.state != "placement":
                    continue
                _each_in_savepoint(
                    uow.session,
                    report,
                    f"check-in {placement.reference}",
                    partial(_ask_checkin, uow, placement, moment, report),
                )
            uow.commit()


def _ask_checkin(
    uow: UnitOfWork, placement: Placement, moment: Moment, report: SweepReport
) -> None:
    session = uow.session
    asked: set[int] = set()
    for role in CHECKIN.roles(placement.programme):
        person = placement.person_for_role(role)
        if person.id in asked:
            continue
        asked.add(person.id)
        response = CHECKIN.model(
            placement_id=placement.id,
            **CHECKIN.row_columns,
            role=role,
            person_id=person.id,
            requested_at=moment.as_of,
        )
        session.add(response)
        session.flush()  # a concurrent sweep's row makes this raise: the savepoint undoes all
        token = mint_link(
            uow,
            placement=placement,
            recipient=Recipient(person, role, response.id),
            purpose=CHECKIN.purpose,
            now=moment.as_of,
        )
        session.flush()
        queue_message(
            uow,
            kind=CHECKIN.request,
            person=person,
            placement=placement,
            now=moment.as_of,
            token=token,
            context={"recipient_role": role},
            dedupe_key=f"{CHECKIN.request}:{placement.id}:{person.id}",
        )
        report.add(CHECKIN.request)


# --- 5 and 6: who has not acted yet ---------------------------------------------------------


@dataclass(frozen=True)
class Waiter:
    name: str
    role: str
    email: str


@dataclass
class Case:
    """A step of one placement that has waited past its programme's escalation threshold."""

    placement_id: int
    reference: str
    programme: str
    coordinator_id: int
    state: str
    step: str
    step_key: str
    """The step with its round or version (approval-r2): escalated once per step."""
    waiting_since: date
    business_days: int
    waiting_for: list[Waiter] = field(default_factory=list)
    language: str = "sv"
    """The programme's language: the digest's, if the coordinator has chosen none."""

    def as_context(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "programme": self.programme,
            "state": self.state,
            "step": self.step,
            "waiting_since": self.waiting_since.isoformat(),
            "business_days": self.business_days,
            "waiting_for": [w.__dict__ for w in self.waiting_for],
        }


def _live_tokens(
    session: Session, step: Step, placement_ids: Sequence[int], as_of: datetime
) -> dict[tuple[int, int], ActionToken]:
    """The newest usable link of each (person, subject) in these placements for this step."""
    tokens: dict[tuple[int, int], ActionToken] = {}
    for token in session.scalars(
        select(ActionToken)
        .where(
            ActionToken.placement_id.in_(placement_ids),
            ActionToken.purpose == step.purpose,
            ActionToken.used_at.is_(None),
            ActionToken.revoked_at.is_(None),
            ActionToken.expires_at > as_of,
        )
        .order_by(ActionToken.id)
    ):
        tokens[(token.person_id, token.subject_id)] = token
    return tokens


def _waiting(
    uow_factory: UowFactory, moment: Moment, report: SweepReport, cases: dict[tuple[int, str], Case]
) -> None:
    business_day = is_business_day(moment.today)
    with uow_factory().reading() as reader:
        thresholds = reader.session.execute(
            select(func.min(Programme.reminder_first_after), func.min(Programme.escalate_after))
        ).one()
    if thresholds[0] is None or not business_day:
        return
    soonest = min(thresholds)
    # Requests made after this moment cannot have waited long enough for anything.
    bound = moment.start_of(latest_day_waiting(moment.today, soonest) + timedelta(days=1))
    for step in REMINDED:
        model = step.model
        with uow_factory().reading() as reader:
            ids = list(
                reader.session.scalars(
                    select(model.id)
                    .join(Placement, Placement.id == model.placement_id)
                    .where(
                        Placement.state == step.state,
                        step.pending_sql(),
                        model.requested_at < bound,
                    )
                    .order_by(model.placement_id, model.id)
                )
            )
        for batch in chunks(ids):
            with uow_factory() as uow:
                _remind_batch(uow, step, batch, moment, report, cases)
                uow.commit()


def _remind_batch(
    uow: UnitOfWork,
    step: Step,
    ids: Sequence[int],
    moment: Moment,
    report: SweepReport,
    cases: dict[tuple[int, str], Case],
) -> None:
    session = uow.session
    model = step.model
    reminder = step.reminder
    assert reminder is not None  # only reminded steps come here
    rows = (
        session.execute(
            select(model, Placement)
            .join(Placement, Placement.id == model.placement_id)
            .where(model.id.in_(ids), Placement.state == step.state, step.pending_sql())
            .options(
                joinedload(model.person),
                joinedload(Placement.programme).joinedload(Programme.coordinator),
            )
            .order_by(model.placement_id, model.id)
        )
        .unique()
        .all()
    )
    tokens = _live_tokens(session, step, sorted({p.id for _, p in rows}), moment.as_of)
    due: list[tuple[ClaimKey, Any, Placement]] = []
    for row, placement in rows:
        programme = placement.programme
        since = moment.local_day(row.requested_at)
        waited = business_days_between(since, moment.today)
        number = reminder_number(
            waited,
            first_after=programme.reminder_first_after,
            repeat_every=programme.reminder_repeat_every,
        )
        key = step.key(placement)
        person: Person = row.person
        if waited >= programme.escalate_after:
            case = cases.get((placement.id, key))
            if case is None:
                case = cases[(placement.id, key)] = Case(
                    placement_id=placement.id,
                    reference=placement.reference,
                    programme=programme.name,
                    coordinator_id=programme.coordinator_id,
                    state=placement.state,
                    step=step.name,
                    step_key=key,
                    waiting_since=since,
                    business_days=waited,
                    language=programme.language,
                )
            case.waiting_since = min(case.waiting_since, since)
            case.business_days = max(case.business_days, waited)
            case.waiting_for.append(Waiter(person.name, row.role, person.email))
        # Only the reminder due now: after a pause in sweeping nobody gets a burst of them.
        if number > 0:
            due.append(((placement.id, key, person.id, "reminder", number), row, placement))
    won = claim_many(session, sorted({claim_key for claim_key, _, _ in due}), at=moment.as_of)
    sent = _reminders_sent(session, won)
    for claim_key, row, placement in due:
        if claim_key not in won:
            continue
        won.discard(claim_key)  # one person in two roles: one reminder
        _, key, _, _, number = claim_key
        person = row.person
        # The key counts due slots (idempotency); the person is told how many they received.
        told = sent.get((placement.id, key, person.id), number)
        token = tokens.get((person.id, row.id))
        if token is None:  # expired, or never made (a person in two roles): a fresh link
            token = mint_link(
                uow,
                placement=placement,
                recipient=Recipient(person, row.role, row.id),
                purpose=step.purpose,
                now=moment.as_of,
            )
            session.flush()
        queue_message(
            uow,
            kind=reminder,
            person=person,
            placement=placement,
            now=moment.as_of,
            token=token,
            context={"number": told, "recipient_role": row.role},
            dedupe_key=f"{reminder}:{placement.id}:{key}:{person.id}:{number}",
        )
        report.add(reminder)


def _reminders_sent(session: Session, keys: set[ClaimKey]) -> dict[tuple[int, str, int], int]:
    """How many reminders each (placement, step, person) has had, the ones just claimed
    included: after a pause in sweeping the next one is "reminder 2", not "reminder 4"."""
    if not keys:
        return {}
    placements = sorted({key[0] for key in keys})
    rows = session.execute(
        select(ReminderLog.placement_id, ReminderLog.step, ReminderLog.person_id, func.count())
        .where(ReminderLog.placement_id.in_(placements), ReminderLog.kind == "reminder")
        .group_by(ReminderLog.placement_id, ReminderLog.step, ReminderLog.person_id)
    ).all()
    return {(p, s, who): int(n) for p, s, who, n in rows}


def _escalate(
    uow_factory: UowFactory, moment: Moment, report: SweepReport, cases: dict[tuple[int, str], Case]
) -> None:
    """One digest per coordinator listing the cases not escalated before; each case is claimed
    in the digest's own transaction, in a fixed order, so concurrent sweeps split nothing."""
    by_coordinator: dict[int, list[Case]] = defaultdict(list)
    for key in sorted(cases):
        by_coordinator[cases[key].coordinator_id].append(cases[key])
    for coordinator_id, waiting in sorted(by_coordinator.items()):
        with uow_factory() as uow:
            session = uow.session
            claimed = claim_many(
                session,
                [(c.placement_id, c.step_key, coordinator_id, "escalation", 1) for c in waiting],
                at=moment.as_of,
            )
            won = [
                c
                for c in waiting
                if (c.placement_id, c.step_key, coordinator_id, "escalation", 1) in claimed
            ]
            if won:
                coordinator = session.get(Person, coordinator_id)
                assert coordinator is not None
                fingerprint = hashlib.sha256(
                    "|".join(f"{c.placement_id}:{c.step_key}" for c in won).encode()
                ).hexdigest()[:32]
                queue_message(
                    uow,
                    kind="escalation_digest",
                    person=coordinator,
                    placement=None,
                    now=moment.as_of,
                    context={"cases": [c.as_context() for c in won]},
                    dedupe_key=f"escalation_digest:{coordinator_id}:{fingerprint}",
                    language=coordinator.language or won[0].language,
                )
                report.add("escalation_digest")
                report.add("escalated_cases", len(won))
            uow.commit()


# --- the whole sweep ------------------------------------------------------------------------


def run_sweep(uow_factory: UowFactory, *, as_of: datetime) -> SweepReport:
    """Do what is due at ``as_of``; safe to run twice or twice at once. ``uow_factory`` makes a
    fresh unit of work per transaction (``App.uow``)."""
    moment = Moment.of(as_of, uow_factory())
    report = SweepReport(as_of=moment.as_of)
    _run_transitions(uow_factory, moment, report)
    _start_notices(uow_factory, moment, report)
    _checkins(uow_factory, moment, report)
    cases: dict[tuple[int, str], Case] = {}
    _waiting(uow_factory, moment, report, cases)
    _escalate(uow_factory, moment, report, cases)
    return report


# --- who holds things up (reports, the demo) ------------------------------------------------


def waiting_longest(
    uow: UnitOfWork, *, programme: str | None, as_of: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """The placements whose current step has waited longest, with who holds each one (inside
    the caller's ``with``); one row per placement step, oldest first."""
    moment = Moment.of(as_of, uow)
    session = uow.session
    found: dict[tuple[int, str], Case] = {}
    for step in REMINDED:
        model = step.model
        query = (
            select(model, Placement)
            .join(Placement, Placement.id == model.placement_id)
            .join(Programme, Programme.id == Placement.programme_id)
            .where(Placement.state == step.state, step.pending_sql())
            .options(joinedload(model.person), joinedload(Placement.programme))
            .order_by(model.requested_at, model.id)
            .limit(limit * 4)  # a step waits for up to three people
        )
        if programme is not None:
            query = query.where(Programme.key == programme)
        for row, placement in session.execute(query).unique():
            key = step.key(placement)
            since = moment.local_day(row.requested_at)
            case = found.setdefault(
                (placement.id, key),
                Case(
                    placement_id=placement.id,
                    reference=placement.reference,
                    programme=placement.programme.key,
                    coordinator_id=0,
                    state=placement.state,
                    step=step.name,
                    step_key=key,
                    waiting_since=since,
                    business_days=business_days_between(since, moment.today),
                ),
            )
            case.waiting_for.append(Waiter(row.person.name, row.role, row.person.email))
    ordered = sorted(found.values(), key=lambda c: (c.waiting_since, c.reference))[:limit]
    return [case.as_context() for case in ordered]
