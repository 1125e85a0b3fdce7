"""Transitions by date: evaluations whose due date has come are closed, placements whose last
day is over are ended (the transition queues the evaluation requests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial

from sqlalchemy import ColumnElement, select

from models import (
    Placement,
)
from states.business_days import Moment
from states.calendar.batches import (
    SWEEP_ACTOR,
    SweepReport,
    UowFactory,
    chunks,
    each_in_savepoint,
)
from states.lifecycle.period import ended_by
from states.lifecycle.transitions import apply_event_in
from states.unit_of_work import UnitOfWork


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
    DateTransition("end", "placement", ended_by, "ended"),
)


def apply_date_transitions(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
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
                    each_in_savepoint(
                        uow,
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
