"""Who sees what on the coordinator's board. ``may_see`` is the one answer to "may this person
see and act on programme X"; every board page and action asks it, nothing else decides.

A programme is coordinated by its ``coordinator`` and by the emails and identity-provider
groups its programme file lists under ``coordinators``; an admin (settings) sees every
programme. Framework-free: the web layer builds a ``BoardUser`` from the signed-in session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import Placement, Programme
from models.schemas import ProgrammeOut, normalised_email
from states.errors import NotFound
from states.lifecycle.queries import list_programmes
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class BoardUser:
    """A signed-in person: email as the identity provider vouched for it, and their groups."""

    email: str
    name: str
    groups: frozenset[str]
    admin: bool


@dataclass(frozen=True)
class ProgrammeAccess:
    """What ``may_see`` needs to know of a programme, and whom to ask when the answer is no."""

    key: str
    name: str
    coordinator_name: str
    coordinator_email: str
    emails: frozenset[str]
    groups: frozenset[str]


def parse_admins(entries: str) -> frozenset[str]:
    """``MOBILITY_BOARD_ADMINS``: comma-separated emails (compared normalised) and group values."""
    parts = (part.strip() for part in entries.split(","))
    return frozenset(normalised_email(p) if "@" in p else p for p in parts if p)


def is_admin(*, email: str, groups: Iterable[str], admins: frozenset[str]) -> bool:
    return normalised_email(email) in admins or not admins.isdisjoint(groups)


def may_see(user: BoardUser, programme: ProgrammeAccess) -> bool:
    """The only rule: an admin sees all; a coordinator by email or by group sees theirs."""
    if user.admin:
        return True
    return user.email in programme.emails or not programme.groups.isdisjoint(user.groups)


def _access(programme: Programme) -> ProgrammeAccess:
    coordinator = programme.coordinator
    return ProgrammeAccess(
        key=programme.key,
        name=programme.name,
        coordinator_name=coordinator.name,
        coordinator_email=coordinator.email,
        emails=frozenset([coordinator.email, *programme.coordinator_emails]),
        groups=frozenset(programme.coordinator_groups),
    )


def all_programme_access(uow: UnitOfWork) -> list[ProgrammeAccess]:
    with uow:
        query = select(Programme).options(joinedload(Programme.coordinator))
        return [_access(p) for p in uow.session.scalars(query.order_by(Programme.key))]


def programme_access(uow: UnitOfWork, *, key: str) -> ProgrammeAccess:
    with uow:
        programme = uow.session.scalars(
            select(Programme).where(Programme.key == key).options(joinedload(Programme.coordinator))
        ).one_or_none()
        if programme is None:
            raise NotFound(f"no programme {key!r}")
        return _access(programme)


def programme_of_placement(uow: UnitOfWork, *, reference: str) -> str:
    """The key of the programme a placement belongs to."""
    with uow:
        key = uow.session.scalar(
            select(Programme.key)
            .join(Placement, Placement.programme_id == Programme.id)
            .where(Placement.reference == reference)
        )
    if key is None:
        raise NotFound(f"no placement {reference!r}")
    return key


def visible_programmes(uow: UnitOfWork, user: BoardUser) -> list[ProgrammeOut]:
    """The programmes ``user`` may see, from the read model every listing uses."""
    allowed = {access.key for access in all_programme_access(uow) if may_see(user, access)}
    return [programme for programme in list_programmes(uow) if programme.key in allowed]
