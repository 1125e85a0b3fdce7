"""The sweep: what the calendar says is due at ``as_of``, done once.

Framework-free (no Prefect here): ``flows/sweep.py`` and ``mobility run sweep`` call
``run_sweep``. It writes to people only on business days (weekdays that are neither public
holidays nor midsummer, Christmas or New Year's eve): on a closed day it does nothing, and the
first sweep of the next business day does what came due meanwhile. What it does, in this
order:

1. closes evaluations whose due date has come (``close`` → completed);
2. ends placements whose last day is over (``end`` → evaluation; the transition queues the
   evaluation requests): a placement "till och med 30 juli" ends on the morning after;
3. sends the start notice the programme's number of business days before the start
   (participant and host contact), and the welcome on the first day where the programme
   wants one (participant);
4. asks for a check-in at the midpoint (participant and host contact, a link each);
5. reminds each person who has not acted yet in manager approval, the agreement and the
   evaluation, following the programme's ``reminders`` in Swedish business days counted from
   the request;
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

from datetime import datetime

from states.business_days import Moment, is_business_day
from states.calendar.batches import (
    SweepReport,
    UowFactory,
)
from states.calendar.by_date import apply_date_transitions
from states.calendar.checkins import ask_for_checkins
from states.calendar.escalation import escalate
from states.calendar.reminders import remind
from states.calendar.start_notices import send_start_notices
from states.lifecycle.waiting import Case


def run_sweep(uow_factory: UowFactory, *, as_of: datetime) -> SweepReport:
    """Do what is due at ``as_of``; safe to run twice or twice at once. ``uow_factory`` makes a
    fresh unit of work per transaction (``App.uow``)."""
    moment = Moment.of(as_of, uow_factory())
    report = SweepReport(as_of=moment.as_of)
    if not is_business_day(moment.today):
        return report
    apply_date_transitions(uow_factory, moment, report)
    send_start_notices(uow_factory, moment, report)
    ask_for_checkins(uow_factory, moment, report)
    cases: dict[tuple[int, str], Case] = {}
    remind(uow_factory, moment, report, cases)
    escalate(uow_factory, moment, report, cases)
    return report
