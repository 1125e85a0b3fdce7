"""Reminders to each person who has not acted yet, following the programme's ``reminders`` in
Swedish business days counted from the request; the cases waiting past the escalation
threshold are collected for ``escalation``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from models import (
    ActionToken,
    Person,
    Placement,
    Programme,
    ReminderLog,
)
from states.business_days import Moment, business_days_between, is_business_day
from states.calendar.batches import (
    SweepReport,
    UowFactory,
    chunks,
)
from states.calendar.claims import ClaimKey, claim_many
from states.lifecycle.outbox import mint_link, queue_message
from states.lifecycle.policy import Recipient
from states.lifecycle.steps import REMINDED, REMINDER_KINDS, SWEEP_REMINDER, Step
from states.lifecycle.waiting import Case, Waiter, is_past_escalation, reminder_number
from states.unit_of_work import UnitOfWork

# --- the reminder policy (pure) -------------------------------------------------------------


def latest_day_waiting(today: date, business_days: int) -> date:
    """The last request day that has waited at least ``business_days`` business days by
    ``today``: requests made later cannot be due yet (the query's date bound)."""
    day = today
    while business_days_between(day, today) < business_days:
        day -= timedelta(days=1)
    return day


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


def remind(
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
    """Remind whoever of these rows is due a reminder now; note the cases to escalate."""
    session = uow.session
    model = step.model
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
    due = [
        reminder
        for row, placement in rows
        if (reminder := _weigh(step, row, placement, moment, cases)) is not None
    ]
    won = claim_many(session, sorted({claim_key for claim_key, _, _ in due}), at=moment.as_of)
    sent = _reminders_sent(session, won)
    tokens = _live_tokens(session, step, sorted({p.id for _, p in rows}), moment.as_of)
    for claim_key, row, placement in due:
        if claim_key not in won:
            continue
        won.discard(claim_key)  # one person in two roles: one reminder
        _send_reminder(uow, step, claim_key, row, placement, sent, tokens, moment)
        report.add(str(step.reminder))


Due = tuple[ClaimKey, Any, Placement]
"""A reminder due now: its reminder-log key, the step row and its placement."""


def _weigh(
    step: Step, row: Any, placement: Placement, moment: Moment, cases: dict[tuple[int, str], Case]
) -> Due | None:
    """The reminder ``row`` is due now, if any; a case to escalate is noted in ``cases``."""
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
    if is_past_escalation(waited, escalate_after=programme.escalate_after):
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
    if number == 0:
        return None
    return (placement.id, key, person.id, SWEEP_REMINDER, number), row, placement


def _send_reminder(
    uow: UnitOfWork,
    step: Step,
    claim_key: ClaimKey,
    row: Any,
    placement: Placement,
    sent: dict[tuple[int, str, int], int],
    tokens: dict[tuple[int, int], ActionToken],
    moment: Moment,
) -> None:
    _, key, _, _, number = claim_key
    person = row.person
    reminder = str(step.reminder)
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
        uow.session.flush()
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


def _reminders_sent(session: Session, keys: set[ClaimKey]) -> dict[tuple[int, str, int], int]:
    """How many reminders each (placement, step, person) has had, the ones just claimed
    included: after a pause in sweeping the next one is "reminder 2", not "reminder 4"."""
    if not keys:
        return {}
    placements = sorted({key[0] for key in keys})
    rows = session.execute(
        select(ReminderLog.placement_id, ReminderLog.step, ReminderLog.person_id, func.count())
        .where(ReminderLog.placement_id.in_(placements), ReminderLog.kind.in_(REMINDER_KINDS))
        .group_by(ReminderLog.placement_id, ReminderLog.step, ReminderLog.person_id)
    ).all()
    return {(p, s, who): int(n) for p, s, who, n in rows}
