"""Who holds things up: the placements whose current step has waited longest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import (
    Placement,
    Programme,
)
from states.business_days import Moment, business_days_between
from states.lifecycle.steps import REMINDED
from states.lifecycle.waiting import Case, Waiter
from states.unit_of_work import UnitOfWork


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
