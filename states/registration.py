"""Register programmes and placement proposals: all rows of a file, or none of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from models import HistoryEntry, Organisation, Person, Placement, Programme, ReferenceCounter
from models.schemas import PersonIn, ProgrammeIn, ProposalIn
from states.errors import FieldError, InvalidInput
from states.transitions import apply_event_in
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Registered:
    reference: str
    state: str
    created: bool


def insert_ignoring_conflicts(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, so concurrent registrations of one person both succeed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing())


class _Directory:
    """People and organisations by email and name, created on first mention, cached per batch."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.people: dict[str, Person] = {}
        self.organisations: dict[str, Organisation] = {}

    def person(self, given: PersonIn) -> Person:
        person = self.people.get(given.email)
        if person is None:
            query = select(Person).where(Person.email == given.email)
            person = self.session.scalars(query).one_or_none()
            if person is None:
                insert_ignoring_conflicts(
                    self.session,
                    Person.__table__,  # type: ignore[arg-type]
                    {"email": given.email, "name": given.name, "language": given.language,
                     "created_at": self.now},
                )
                person = self.session.scalars(query).one()
            self.people[given.email] = person
        if person.name != given.name:
            person.name = given.name
        if given.language and person.language != given.language:
            person.language = given.language
        return person

    def organisation(self, name: str) -> Organisation:
        organisation = self.organisations.get(name)
        if organisation is None:
            query = select(Organisation).where(Organisation.name == name)
            organisation = self.session.scalars(query).one_or_none()
            if organisation is None:
                insert_ignoring_conflicts(
                    self.session,
                    Organisation.__table__,  # type: ignore[arg-type]
                    {"name": name, "created_at": self.now},
                )
                organisation = self.session.scalars(query).one()
            self.organisations[name] = organisation
        return organisation


def register_programme(
    uow: UnitOfWork, *, programme: ProgrammeIn, source: str = "", as_of: datetime | None = None
) -> tuple[str, bool]:
    """Create or update a programme by its key; returns (key, created)."""
    now = as_of or datetime.now(UTC)
    with uow:
        session = uow.session
        coordinator = _Directory(session, now).person(programme.coordinator)
        values = {
            "name": programme.name,
            "direction": programme.direction,
            "language": programme.language,
            "coordinator_id": coordinator.id,
            "budget_sek": programme.budget_sek,
            "approval_roles": list(programme.approvals),
            "agreement_template": programme.agreement.template,
            "agreement_parties": list(programme.agreement.parties),
            "reminder_first_after": programme.reminders.first_after,
            "reminder_repeat_every": programme.reminders.repeat_every,
            "escalate_after": programme.reminders.escalate_after,
            "evaluation_respondents": list(programme.evaluation.respondents),
            "evaluation_due_after": programme.evaluation.due_after,
            "evaluation_questions": [
                q.model_dump(mode="json") for q in programme.evaluation.questions
            ],
            "source": source,
        }
        existing = session.scalars(
            select(Programme).where(Programme.key == programme.key)
        ).one_or_none()
        if existing is None:
            session.add(Programme(key=programme.key, created_at=now, updated_at=now, **values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
        uow.commit()
    return programme.key, existing is None


def _next_reference(session: Session, year: int) -> str:
    insert_ignoring_conflicts(
        session, ReferenceCounter.__table__, {"year": year, "last": 0}  # type: ignore[arg-type]
    )
    number = session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    ).scalar_one()
    return f"PL-{year}-{number:04d}"


def _check_against_programmes(
    proposals: Sequence[ProposalIn], programmes: dict[str, Programme], source: str
) -> None:
    errors: list[FieldError] = []
    for number, proposal in enumerate(proposals, start=1):
        programme = programmes.get(proposal.programme)
        if programme is None:
            errors.append(FieldError(number, "programme", f"unknown programme {proposal.programme!r}"))
            continue
        if programme.direction == "both" and proposal.direction is None:
            errors.append(FieldError(number, "direction", "required: the programme runs both ways"))
        elif (
            programme.direction != "both"
            and proposal.direction is not None
            and proposal.direction != programme.direction
        ):
            errors.append(
                FieldError(
                    number, "direction",
                    f"{proposal.direction} is not allowed in {programme.key} ({programme.direction})",
                )
            )
    if errors:
        raise InvalidInput(errors, source=source)


def register_proposals(
    uow: UnitOfWork,
    *,
    proposals: Sequence[ProposalIn],
    actor: str,
    via: str,
    draft: bool = False,
    as_of: datetime | None = None,
    source: str = "input",
) -> list[Registered]:
    """Register every proposal, or none if any is invalid. A proposal already registered (same
    programme, participant, host organisation and start) returns the existing placement."""
    now = as_of or datetime.now(UTC)
    registered: list[Registered] = []
    with uow:
        session = uow.session
        keys = {p.programme for p in proposals}
        programmes = {
            p.key: p
            for p in session.scalars(
                select(Programme)
                .where(Programme.key.in_(keys))
                .options(joinedload(Programme.coordinator))
            )
        }
        _check_against_programmes(proposals, programmes, source)
        directory = _Directory(session, now)
        for proposal in proposals:
            registered.append(
                _register_one(uow, proposal, programmes[proposal.programme], directory,
                              actor=actor, via=via, draft=draft, now=now)
            )
        uow.commit()
    return registered


def _register_one(
    uow: UnitOfWork,
    proposal: ProposalIn,
    programme: Programme,
    directory: _Directory,
    *,
    actor: str,
    via: str,
    draft: bool,
    now: datetime,
) -> Registered:
    session = uow.session
    participant = directory.person(proposal.participant)
    host_organisation = directory.organisation(proposal.host_organisation)
    existing = session.scalars(
        select(Placement).where(
            Placement.programme_id == programme.id,
            Placement.participant_id == participant.id,
            Placement.host_organisation_id == host_organisation.id,
            Placement.start_date == proposal.start,
        )
    ).one_or_none()
    if existing is not None:
        return Registered(existing.reference, existing.state, created=False)

    placement = Placement(
        reference=_next_reference(session, proposal.start.year),
        programme=programme,
        direction=proposal.direction or programme.direction,
        state="proposal",
        version=1,
        state_changed_at=now,
        participant=participant,
        home_organisation=directory.organisation(proposal.home_organisation),
        home_manager=directory.person(proposal.home_manager),
        host_organisation=host_organisation,
        host_contact=directory.person(proposal.host_contact),
        start_date=proposal.start,
        end_date=proposal.end,
        extent_percent=proposal.extent_percent,
        purpose=proposal.purpose,
        development_plan=proposal.development_plan,
        value_for_home=proposal.value_for_home,
        value_for_host=proposal.value_for_host,
        student_involvement=proposal.student_involvement,
        funding_sek=proposal.funding_sek,
        created_at=now,
        approvals=[],
        acceptances=[],
        responses=[],
    )
    session.add(placement)
    session.flush()
    session.add(
        HistoryEntry(
            placement_id=placement.id, version=1, event="register", from_state=None,
            to_state="proposal", actor=actor, via=via, at=now,
        )
    )
    if draft:
        return Registered(placement.reference, placement.state, created=True)
    result = apply_event_in(
        uow, reference=placement.reference, event="submit", actor=actor, via=via, as_of=now,
        placement=placement,
    )
    return Registered(placement.reference, result.to_state, created=True)
