"""The check-in at the midpoint: the participant and the host contact get a link each."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from sqlalchemy import ColumnElement, exists, func, literal, select

from models import (
    EvaluationResponse,
    Placement,
)
from models.placement import DAY_ZERO, period_days
from states.business_days import Moment
from states.calendar.batches import (
    SweepReport,
    UowFactory,
    chunks,
    each_in_savepoint,
    placements_with_people,
)
from states.lifecycle.outbox import mint_link, queue_message
from states.lifecycle.period import started_by
from states.lifecycle.policy import Recipient
from states.lifecycle.steps import CHECKIN
from states.unit_of_work import UnitOfWork


def midpoint(start: date, end: date) -> date:
    return start + timedelta(days=-(-(end - start).days // 2))


def _past_midpoint(dialect: str, today: date) -> ColumnElement[bool]:
    """start + end <= 2 × today in day numbers (each dialect's own, so that the expression is
    the indexed one of ``period_days``)."""
    if dialect == "sqlite":
        return period_days(dialect) <= 2 * func.julianday(literal(today.isoformat()))
    return period_days(dialect) <= 2 * (today - DAY_ZERO).days


def ask_for_checkins(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
    asked = exists().where(EvaluationResponse.placement_id == Placement.id, CHECKIN.current_sql())
    with uow_factory().reading() as reader:
        dialect = reader.dialect
        ids = list(
            reader.session.scalars(
                select(Placement.id)
                .where(
                    Placement.state == CHECKIN.state,
                    started_by(moment.today),
                    _past_midpoint(dialect, moment.today),
                    ~asked,
                )
                .order_by(Placement.id)
            )
        )
    for batch in chunks(ids):
        with uow_factory() as uow:
            for placement in placements_with_people(uow.session, batch):
                if placement.state != "placement":
                    continue
                each_in_savepoint(
                    uow,
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
