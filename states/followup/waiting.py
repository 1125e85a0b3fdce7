"""Who holds things up: the placements whose current step has waited longest, now or as they
stood at an earlier moment (from history: the placement's state then, the people asked by then
who had not acted by then)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import joinedload

from models import HistoryEntry, Placement, Programme
from states.business_days import Moment, business_days_between
from states.lifecycle.steps import REMINDED, Step
from states.lifecycle.waiting import Case, Waiter
from states.unit_of_work import UnitOfWork


def _state_at(moment: datetime) -> Any:
    """A placement's state at ``moment``: its last history row by then."""
    return (
        select(HistoryEntry.to_state)
        .where(HistoryEntry.placement_id == Placement.id, HistoryEntry.at <= moment)
        .order_by(HistoryEntry.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def _waiting_in(step: Step, cutoff: datetime | None) -> ColumnElement[bool]:
    if cutoff is None:
        return and_(Placement.state == step.state, step.pending_sql())
    return and_(_state_at(cutoff) == step.state, step.pending_at_sql(cutoff))


def waiting_longest(
    uow: UnitOfWork,
    *,
    programme: str | None,
    as_of: datetime,
    limit: int = 10,
    historical: bool = False,
) -> list[dict[str, Any]]:
    """The placements whose current step has waited longest, with who holds each one (inside
    the caller's ``with``); one row per placement step, oldest first. ``historical``: as they
    stood at ``as_of``, from history; else as they stand now, waits counted up to ``as_of``."""
    moment = Moment.of(as_of, uow)
    session = uow.session
    found: dict[tuple[int, str], Case] = {}
    for step in REMINDED:
        model = step.model
        query = (
            select(model, Placement)
            .join(Placement, Placement.id == model.placement_id)
            .join(Programme, Programme.id == Placement.programme_id)
            .where(_waiting_in(step, as_of if historical else None))
            .options(joinedload(model.person), joinedload(Placement.programme))
            .order_by(model.requested_at, model.id)
            .limit(limit * 4)  # a step waits for up to three people
        )
        if programme is not None:
            query = query.where(Programme.key == programme)
        for row, placement in session.execute(query).unique():
            # as it stood then, the round and version of now say nothing: the step names it
            key = step.name if historical else step.key(placement)
            since = moment.local_day(row.requested_at)
            case = found.setdefault(
                (placement.id, key),
                Case(
                    placement_id=placement.id,
                    reference=placement.reference,
                    programme=placement.programme.key,
                    coordinator_id=0,
                    state=step.state,
                    step=step.name,
                    step_key=key,
                    waiting_since=since,
                    business_days=business_days_between(since, moment.today),
                ),
            )
            case.waiting_for.append(Waiter(row.person.name, row.role, row.person.email))
    ordered = sorted(found.values(), key=lambda c: (c.waiting_since, c.reference))[:limit]
    return [case.as_context() for case in ordered]
