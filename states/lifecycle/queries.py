"""Read models for people and machines: placement lists, one placement whole, programmes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from models import AgreementAcceptance, HistoryEntry, Placement, Programme
from models.schemas import (
    AcceptanceOut,
    ApprovalOut,
    HistoryOut,
    HolderOut,
    PersonOut,
    PlacementDetail,
    PlacementSummary,
    ProgrammeOut,
)
from states.business_days import Moment, business_days_between
from states.errors import NotFound
from states.lifecycle.loading import load_for_update
from states.lifecycle.machine import STATES
from states.lifecycle.steps import AGREEMENT, APPROVAL, HOLDING, holding_step
from states.unit_of_work import UnitOfWork

ListOrder = Literal["reference", "waiting"]
"""By reference, or those waiting longest first (then by reference)."""


def _holders(placement: Placement, pending: Sequence[Any]) -> list[HolderOut]:
    """Who holds the placement up now: the people of the current step's ``pending`` rows; a
    proposal waits for whoever runs the programme."""
    if holding_step(placement.state) is not None:
        return [HolderOut(role=row.role, name=row.person.name) for row in pending]
    if placement.state == "proposal":
        return [HolderOut(role="coordinator", name=placement.programme.coordinator.name)]
    return []


def waiting_for(placement: Placement) -> list[str]:
    """Who holds the placement up now, "role: name" (its step rows must be loaded)."""
    step = holding_step(placement.state)
    pending = step.pending_rows(placement) if step is not None else []
    return [f"{h.role}: {h.name}" for h in _holders(placement, pending)]


def _summary(placement: Placement, pending: Sequence[Any], moment: Moment) -> PlacementSummary:
    holders = _holders(placement, pending)
    since: date | None = None
    if pending:
        since = min(moment.local_day(row.requested_at) for row in pending)
    elif holders:  # a proposal: since the day it became one (again)
        since = moment.local_day(placement.state_changed_at)
    waited = business_days_between(since, moment.today) if since is not None else None
    step = holding_step(placement.state)
    programme = placement.programme
    overdue = past_escalation = False
    if step is not None and step.reminder is not None and waited is not None:
        overdue = waited >= programme.reminder_first_after
        past_escalation = waited >= programme.escalate_after
    return PlacementSummary(
        reference=placement.reference,
        programme=programme.key,
        direction=placement.direction,
        state=placement.state,
        version=placement.version,
        participant=placement.participant.name,
        host_organisation=placement.host_organisation.name,
        start=placement.start_date,
        end=placement.end_date,
        extent_percent=placement.extent_percent,
        holders=holders,
        waiting_since=since,
        business_days_waiting=waited,
        overdue=overdue,
        past_escalation=past_escalation,
    )


def _pending_rows(session: Session, placements: Sequence[Placement]) -> dict[int, list[Any]]:
    """Placement id → its current step's rows still open (the registry's ``pending_sql``),
    with their people: one query per step and chunk, not one per placement."""
    found: dict[int, list[Any]] = defaultdict(list)
    for step in HOLDING:
        ids = [p.id for p in placements if p.state == step.state]
        for start in range(0, len(ids), 500):
            query = (
                select(step.model)
                .join(Placement, Placement.id == step.model.placement_id)
                .where(step.model.placement_id.in_(ids[start : start + 500]), step.pending_sql())
                .options(joinedload(step.model.person))
                .order_by(step.model.id)
            )
            for row in session.scalars(query):
                found[row.placement_id].append(row)
    return found


def list_placements(
    uow: UnitOfWork,
    *,
    as_of: datetime,
    state: str | None = None,
    programme: str | None = None,
    direction: str | None = None,
    reference: str | None = None,
    overdue: bool = False,
    order: ListOrder = "reference",
    limit: int | None = 1000,
) -> list[PlacementSummary]:
    """Placements with who holds each up, since when and whether overdue as of ``as_of``:
    the list of ``mobility list`` and of the board, filtered and ordered alike."""
    if state is not None and state not in STATES:
        raise NotFound(f"unknown state {state!r}; states are: {', '.join(STATES)}")
    with uow:
        moment = Moment.of(as_of, uow)
        query = (
            select(Placement)
            .options(
                joinedload(Placement.programme).joinedload(Programme.coordinator),
                joinedload(Placement.participant),
                joinedload(Placement.host_organisation),
            )
            .order_by(Placement.reference)
        )
        if state is not None:
            query = query.where(Placement.state == state)
        if direction is not None:
            query = query.where(Placement.direction == direction)
        if reference is not None:
            query = query.where(Placement.reference == reference)
        if programme is not None:
            query = query.join(Programme, Placement.programme_id == Programme.id).where(
                Programme.key == programme
            )
        placements = list(uow.session.scalars(query).unique())
        pending = _pending_rows(uow.session, placements)
        rows = [_summary(p, pending.get(p.id, []), moment) for p in placements]
    if overdue:
        rows = [row for row in rows if row.overdue]
    if order == "waiting":
        rows.sort(key=lambda r: (r.waiting_since is None, r.waiting_since or date.min))
    return rows if limit is None else rows[:limit]


def get_placement(uow: UnitOfWork, *, reference: str) -> PlacementDetail:
    with uow:
        session = uow.session
        placement = load_for_update(session, reference, lock=False)
        history = session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.placement_id == placement.id)
            .order_by(HistoryEntry.version)
        ).all()
        versions = {
            a.id: a.document.version
            for a in session.scalars(
                select(AgreementAcceptance)
                .where(AgreementAcceptance.placement_id == placement.id)
                .options(joinedload(AgreementAcceptance.document))
            )
        }
        return PlacementDetail(
            reference=placement.reference,
            programme=placement.programme.key,
            direction=placement.direction,
            state=placement.state,
            version=placement.version,
            participant=PersonOut.model_validate(placement.participant),
            home_organisation=placement.home_organisation.name,
            home_manager=PersonOut.model_validate(placement.home_manager),
            host_organisation=placement.host_organisation.name,
            host_contact=PersonOut.model_validate(placement.host_contact),
            start=placement.start_date,
            end=placement.end_date,
            extent_percent=placement.extent_percent,
            purpose=placement.purpose,
            development_plan=placement.development_plan,
            value_for_home=placement.value_for_home,
            value_for_host=placement.value_for_host,
            student_involvement=placement.student_involvement,
            funding_sek=placement.funding_sek,
            evaluation_due_on=placement.evaluation_due_on,
            approvals=[
                ApprovalOut.model_validate(a).model_copy(
                    update={"status": APPROVAL.row_status(a, placement)}
                )
                for a in placement.approvals
            ],
            acceptances=[
                AcceptanceOut(
                    role=a.role,
                    person=PersonOut.model_validate(a.person),
                    agreement_version=versions[a.id],
                    accepted_at=a.accepted_at,
                    sha256=a.sha256,
                    void=a.voided_at is not None,
                    status=AGREEMENT.row_status(a, placement),
                )
                for a in placement.acceptances
            ],
            history=[HistoryOut.model_validate(h) for h in history],
        )


def list_programmes(uow: UnitOfWork) -> list[ProgrammeOut]:
    with uow:
        # .all(): a Result has .keys(), so dict() would take it for a mapping and fail.
        counts: dict[int, int] = dict(
            uow.session.execute(
                select(Placement.programme_id, func.count()).group_by(Placement.programme_id)
            ).all()
        )
        programmes = uow.session.scalars(
            select(Programme).options(joinedload(Programme.coordinator)).order_by(Programme.key)
        )
        return [
            ProgrammeOut(
                key=p.key,
                name=p.name,
                direction=p.direction,
                language=p.language,
                coordinator=PersonOut.model_validate(p.coordinator),
                budget_sek=p.budget_sek,
                approvals=p.approval_roles,
                placements=counts.get(p.id, 0),
            )
            for p in programmes
        ]
