"""Read models for people and machines: placement lists, one placement whole, programmes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from models import AgreementAcceptance, HistoryEntry, Placement, Programme
from models.schemas import (
    AcceptanceOut,
    ApprovalOut,
    HistoryOut,
    PersonOut,
    PlacementDetail,
    PlacementSummary,
    ProgrammeOut,
)
from states.errors import NotFound
from states.lifecycle.loading import load_for_update
from states.lifecycle.machine import STATES
from states.lifecycle.steps import AGREEMENT, APPROVAL, HOLDING, holding_step
from states.unit_of_work import UnitOfWork


def waiting_for(placement: Placement) -> list[str]:
    """Who holds the placement up now: the people whose action the current step waits for."""
    step = holding_step(placement.state)
    if step is not None:
        return [f"{row.role}: {row.person.name}" for row in step.pending_rows(placement)]
    if placement.state == "proposal":
        role = "coordinator"  # a proposal waits for whoever runs the programme
        return [f"{role}: {placement.programme.coordinator.name}"]
    return []


def _summary(placement: Placement) -> PlacementSummary:
    return PlacementSummary(
        reference=placement.reference,
        programme=placement.programme.key,
        direction=placement.direction,
        state=placement.state,
        version=placement.version,
        participant=placement.participant.name,
        host_organisation=placement.host_organisation.name,
        start=placement.start_date,
        end=placement.end_date,
        extent_percent=placement.extent_percent,
        waiting_for=waiting_for(placement),
    )


def list_placements(
    uow: UnitOfWork, *, state: str | None = None, programme: str | None = None, limit: int = 1000
) -> list[PlacementSummary]:
    if state is not None and state not in STATES:
        raise NotFound(f"unknown state {state!r}; states are: {', '.join(STATES)}")
    with uow:
        query = (
            select(Placement)
            .options(
                joinedload(Placement.programme).joinedload(Programme.coordinator),
                joinedload(Placement.participant),
                joinedload(Placement.host_organisation),
            )
            .order_by(Placement.reference)
            .limit(limit)
        )
        if state is not None:
            query = query.where(Placement.state == state)
        if programme is not None:
            query = query.join(Programme, Placement.programme_id == Programme.id).where(
                Programme.key == programme
            )
        placements = list(uow.session.scalars(query).unique())
        waiting = {step.state for step in HOLDING}
        if any(p.state in waiting for p in placements):
            # The detail loader fetches the steps' people for the few that wait on someone.
            placements = [
                load_for_update(uow.session, p.reference, lock=False) if p.state in waiting else p
                for p in placements
            ]
        return [_summary(p) for p in placements]


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
