"""Read models for people and machines: placement lists, one placement whole, programmes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from models import (
    AgreementAcceptance,
    HistoryEntry,
    Organisation,
    Person,
    Placement,
    Programme,
)
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
from states.lifecycle.waiting import is_overdue, is_past_escalation
from states.unit_of_work import UnitOfWork

ListOrder = Literal["reference", "waiting"]
"""By reference, or those waiting longest first (then by reference)."""


def _holders(state: str, coordinator: str, pending: Sequence[tuple[str, str]]) -> list[HolderOut]:
    """Who holds a placement in ``state`` up now: the (role, name) of the current step's
    pending rows; a proposal waits for whoever runs the programme (``coordinator``)."""
    if holding_step(state) is not None:
        return [HolderOut(role=role, name=name) for role, name in pending]
    if state == "proposal":
        return [HolderOut(role="coordinator", name=coordinator)]
    return []


def waiting_for(placement: Placement) -> list[str]:
    """Who holds the placement up now, "role: name" (its step rows must be loaded)."""
    step = holding_step(placement.state)
    rows = step.pending_rows(placement) if step is not None else []
    pending = [(row.role, row.person.name) for row in rows]
    holders = _holders(placement.state, placement.programme.coordinator.name, pending)
    return [f"{h.role}: {h.name}" for h in holders]


@dataclass(frozen=True)
class _Pending:
    role: str
    name: str
    requested_at: datetime


def _summary(row: Any, pending: Sequence[_Pending], moment: Moment) -> PlacementSummary:
    holders = _holders(row.state, row.coordinator, [(p.role, p.name) for p in pending])
    since: date | None = None
    if pending:
        since = min(moment.local_day(p.requested_at) for p in pending)
    elif holders:  # a proposal: since the day it became one (again)
        since = moment.local_day(row.state_changed_at)
    waited = business_days_between(since, moment.today) if since is not None else None
    step = holding_step(row.state)
    overdue = past_escalation = False
    if step is not None and step.reminder is not None and waited is not None:
        overdue = is_overdue(waited, first_after=row.reminder_first_after)
        past_escalation = is_past_escalation(waited, escalate_after=row.escalate_after)
    return PlacementSummary(
        reference=row.reference,
        programme=row.programme,
        direction=row.direction,
        state=row.state,
        version=row.version,
        participant=row.participant,
        host_organisation=row.host_organisation,
        start=row.start_date,
        end=row.end_date,
        extent_percent=row.extent_percent,
        holders=holders,
        waiting_since=since,
        business_days_waiting=waited,
        overdue=overdue,
        past_escalation=past_escalation,
    )


def _pending_rows(session: Session, rows: Sequence[Any]) -> dict[int, list[_Pending]]:
    """Placement id → the people its current step still waits for (the registry's
    ``pending_sql``): one query per step and chunk, not one per placement."""
    found: dict[int, list[_Pending]] = defaultdict(list)
    for step in HOLDING:
        model = step.model
        ids = [r.id for r in rows if r.state == step.state]
        for start in range(0, len(ids), 500):
            query = (
                select(model.placement_id, model.role, Person.name, model.requested_at)
                .join(Placement, Placement.id == model.placement_id)
                .join(Person, Person.id == model.person_id)
                .where(model.placement_id.in_(ids[start : start + 500]), step.pending_sql())
                .order_by(model.id)
            )
            for placement_id, role, name, requested_at in session.execute(query):
                found[placement_id].append(_Pending(role, name, requested_at))
    return found


def _list_query() -> Select[*tuple[Any, ...]]:
    """The columns a list row shows, without loading whole objects (2,000 rows stay cheap)."""
    participant, coordinator = aliased(Person), aliased(Person)
    return (
        select(
            Placement.id,
            Placement.reference,
            Programme.key.label("programme"),
            Placement.direction,
            Placement.state,
            Placement.version,
            participant.name.label("participant"),
            Organisation.name.label("host_organisation"),
            Placement.start_date,
            Placement.end_date,
            Placement.extent_percent,
            Placement.state_changed_at,
            coordinator.name.label("coordinator"),
            Programme.reminder_first_after,
            Programme.escalate_after,
        )
        .join(Programme, Programme.id == Placement.programme_id)
        .join(participant, participant.id == Placement.participant_id)
        .join(coordinator, coordinator.id == Programme.coordinator_id)
        .join(Organisation, Organisation.id == Placement.host_organisation_id)
        .order_by(Placement.reference)
    )


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
    filters = {
        Placement.state: state,
        Placement.direction: direction,
        Placement.reference: reference,
        Programme.key: programme,
    }
    query = _list_query().where(*(column == value for column, value in filters.items() if value))
    with uow:
        moment = Moment.of(as_of, uow)
        found = uow.session.execute(query).all()
        pending = _pending_rows(uow.session, found)
        rows = [_summary(row, pending.get(row.id, []), moment) for row in found]
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
