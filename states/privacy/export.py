"""Everything stored about a person, as JSON-ready data (GDPR art. 15 and 20)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import LargeBinary, or_, select

from models import (
    ActionToken,
    AgreementAcceptance,
    Approval,
    Base,
    EvaluationResponse,
    HistoryEntry,
    OutboxMessage,
    Person,
    Placement,
    Programme,
    ReminderLog,
)
from models.schemas import normalised_email
from states.errors import NotFound
from states.unit_of_work import UnitOfWork

ROLE_COLUMNS = {
    "participant": Placement.participant_id,
    "home_manager": Placement.home_manager_id,
    "host_contact": Placement.host_contact_id,
}


def _row(obj: Any, *, drop: Iterable[str] = ()) -> dict[str, Any]:
    """A row as plain data; bytes (nonces) and secrets are left out."""
    skip = set(drop)
    data = {}
    for column in obj.__table__.columns:
        if column.key in skip or isinstance(column.type, LargeBinary):
            continue
        value = getattr(obj, column.key)
        data[column.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return data


def export_person(uow: UnitOfWork, *, email: str) -> dict[str, Any]:
    """Everything stored about the person with ``email``, as JSON-ready data."""
    with uow:
        session = uow.session
        person = session.scalars(
            select(Person).where(Person.email == normalised_email(email))
        ).one_or_none()
        if person is None:
            raise NotFound(f"no person with email {email}")
        pid = person.id
        placements = []
        for role, column in ROLE_COLUMNS.items():
            for placement in session.scalars(select(Placement).where(column == pid)):
                placements.append({"role": role, **_row(placement)})
        coordinated = session.scalars(
            select(Programme.key).where(Programme.coordinator_id == pid)
        ).all()

        def rows(model: type[Base], *where: Any, drop: Iterable[str] = ()) -> list[dict[str, Any]]:
            query = select(model).where(*where).order_by(model.id)  # type: ignore[attr-defined]
            return [_row(r, drop=drop) for r in session.scalars(query)]

        return {
            "person": _row(person),
            "programmes_coordinated": list(coordinated),
            "placements": sorted(placements, key=lambda p: (p["reference"], p["role"])),
            "approvals": rows(Approval, Approval.person_id == pid),
            "agreement_acceptances": rows(
                AgreementAcceptance, AgreementAcceptance.person_id == pid
            ),
            "evaluation_responses": rows(EvaluationResponse, EvaluationResponse.person_id == pid),
            "history_as_actor": rows(
                HistoryEntry,
                or_(HistoryEntry.actor == person.email, HistoryEntry.actor == person.name),
            ),
            "emails": rows(
                OutboxMessage,
                or_(OutboxMessage.person_id == pid, OutboxMessage.to_email == person.email),
            ),
            "link_tokens": rows(ActionToken, ActionToken.person_id == pid, drop=("token_hash",)),
            "reminders": rows(ReminderLog, ReminderLog.person_id == pid),
        }
