"""The "placement starts" notice on the start date, to the participant and the host contact."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select

from models import (
    Placement,
    ReminderLog,
)
from states.business_days import Moment
from states.calendar.batches import (
    SweepReport,
    UowFactory,
    chunks,
    placements_with_people,
)
from states.calendar.claims import claim
from states.lifecycle.outbox import queue_message

START_ROLES = ("participant", "host_contact")
START_NOTICE_DAYS = 14
"""A start notice is sent up to two weeks after the start (a sweep may have been down); later it
would only confuse. The bound also keeps the query to recent starts, not every running one."""


def send_start_notices(uow_factory: UowFactory, moment: Moment, report: SweepReport) -> None:
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
            for placement in placements_with_people(session, batch):
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
