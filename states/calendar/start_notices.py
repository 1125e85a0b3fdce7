"""Before and on the first day: the start notice, a programme's number of business days
before the start (to the participant and the host contact, so the host can prepare an access
card and an account), and, where the programme wants one, a welcome on the first day.

The sweep writes only on business days (``states.calendar.sweep``): the notice day is itself
a business day, counted back from the start, and a welcome whose first day falls on a closed
day goes out on the next business day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, exists, select

from models import Placement, Programme, ReminderLog
from states.business_days import Moment, add_business_days
from states.calendar.batches import SweepReport, UowFactory, chunks, placements_with_people
from states.calendar.claims import claim
from states.lifecycle.outbox import queue_message
from states.lifecycle.period import started_by
from states.lifecycle.policy import START_NOTICE_ROLES, WELCOME_ROLES
from states.unit_of_work import UnitOfWork

WELCOME_LATE_DAYS = 7
"""A welcome still goes out this many days after the first day (a sweep may have been down,
the first day may fall before a long weekend); later it would only confuse."""


@dataclass(frozen=True)
class StartMessage:
    kind: str
    """The email kind, and the reminder log's step and kind that make it go out once."""
    roles: Sequence[str]


START_NOTICE = StartMessage("placement_starts", START_NOTICE_ROLES)
WELCOME = StartMessage("placement_welcome", WELCOME_ROLES)


def _not_sent(message: StartMessage) -> ColumnElement[bool]:
    return ~exists().where(
        ReminderLog.placement_id == Placement.id, ReminderLog.kind == message.kind
    )


def _due_notices(reader: UnitOfWork, today: date) -> list[int]:
    """Placements whose start notice is due today: the first day lies ahead, at most the
    programme's number of business days away (the notice day is that many business days before
    the start; a placement confirmed later still gets it before its first day). One query per
    distinct setting: there are few."""
    session = reader.session
    ids: list[int] = []
    settings = session.scalars(
        select(Programme.start_notice_days).where(Programme.start_notice_days > 0).distinct()
    )
    for days in sorted(settings):
        ids += session.scalars(
            select(Placement.id)
            .join(Programme, Programme.id == Placement.programme_id)
            .where(
                Programme.start_notice_days == days,
                Placement.state == "placement",
                Placement.start_date > today,
                Placement.start_date <= add_business_days(today, days),
                _not_sent(START_NOTICE),
            )
        )
    return sorted(ids)


def _due_welcomes(reader: UnitOfWork, today: date) -> list[int]:
    return list(
        reader.session.scalars(
            select(Placement.id)
            .join(Programme, Programme.id == Placement.programme_id)
            .where(
                Programme.welcome_on_start.is_(True),
                Placement.state == "placement",
                started_by(today),
                Placement.start_date >= today - timedelta(days=WELCOME_LATE_DAYS),
                _not_sent(WELCOME),
            )
            .order_by(Placement.id)
        )
    )


def send_start_notices(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
    with uow_factory().reading() as reader:
        notices = _due_notices(reader, moment.today)
        welcomes = _due_welcomes(reader, moment.today)
    for message, ids in ((START_NOTICE, notices), (WELCOME, welcomes)):
        for batch in chunks(ids):
            with uow_factory() as uow:
                for placement in placements_with_people(uow.session, batch):
                    if placement.state == "placement":
                        _send(uow, message, placement, moment, report)
                uow.commit()


def _send(
    uow: UnitOfWork,
    message: StartMessage,
    placement: Placement,
    moment: Moment,
    report: SweepReport,
) -> None:
    for role in message.roles:
        person = placement.person_for_role(role)
        if claim(
            uow.session,
            placement_id=placement.id,
            step=message.kind,
            person_id=person.id,
            kind=message.kind,
            number=1,
            at=moment.as_of,
        ):
            queue_message(
                uow,
                kind=message.kind,
                person=person,
                placement=placement,
                now=moment.as_of,
                context={"recipient_role": role},
                dedupe_key=f"{message.kind}:{placement.id}:{person.id}",
            )
            report.add(message.kind)
