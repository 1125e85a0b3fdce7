"""Register programmes and placement proposals: all rows of a file, or none of them."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    HistoryEntry,
    Organisation,
    Person,
    Placement,
    Programme,
    ReferenceCounter,
    table_of,
)
from models.schemas import PersonIn, ProgrammeIn, ProposalIn
from states.agreement import check_programme_template
from states.errors import FieldError, InvalidInput
from states.loading import COLLECTIONS
from states.transitions import apply_event_to_many_in
from states.unit_of_work import UnitOfWork

# Rows per IN (…) list: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 1000


@dataclass(frozen=True)
class Registered:
    reference: str
    state: str
    created: bool


def insert_ignoring_conflicts(
    session: Session, table: Table, values: dict[str, Any] | list[dict[str, Any]]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING (one row, or many in one executemany), so concurrent
    registrations of one person both succeed."""
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if isinstance(values, dict):
        session.execute(insert_(table).values(**values).on_conflict_do_nothing())
    elif values:
        session.execute(insert_(table).on_conflict_do_nothing(), values)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class _Directory:
    """People and organisations by email and name, created on first mention, cached per batch."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.people: dict[str, Person] = {}
        self.organisations: dict[str, Organisation] = {}

    def preload_people(self, mentions: Iterable[PersonIn]) -> None:
        """Everyone mentioned, in a few queries: found by email, the missing ones inserted in
        one statement (as first mentioned) and read back. ``person`` then answers from here."""
        first: dict[str, PersonIn] = {}
        for given in mentions:
            if given.email not in self.people:
                first.setdefault(given.email, given)
        self.people.update(self._people_by_email(list(first)))
        missing = [given for email, given in first.items() if email not in self.people]
        if missing:
            insert_ignoring_conflicts(
                self.session,
                table_of(Person),
                [
                    {
                        "email": g.email,
                        "name": g.name,
                        "language": g.language,
                        "created_at": self.now,
                    }
                    for g in missing
                ],
            )
            self.people.update(self._people_by_email([g.email for g in missing]))

    def preload_organisations(self, names: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(n for n in names if n not in self.organisations))
        self.organisations.update(self._organisations_by_name(wanted))
        missing = [name for name in wanted if name not in self.organisations]
        if missing:
            insert_ignoring_conflicts(
                self.session,
                table_of(Organisation),
                [{"name": name, "created_at": self.now} for name in missing],
            )
            self.organisations.update(self._organisations_by_name(missing))

    def _people_by_email(self, emails: Sequence[str]) -> dict[str, Person]:
        found: dict[str, Person] = {}
        for chunk in _chunks(emails):
            for person in self.session.scalars(select(Person).where(Person.email.in_(chunk))):
                found[person.email] = person
        return found

    def _organisations_by_name(self, names: Sequence[str]) -> dict[str, Organisation]:
        found: dict[str, Organisation] = {}
        for chunk in _chunks(names):
            query = select(Organisation).where(Organisation.name.in_(chunk))
            for organisation in self.session.scalars(query):
                found[organisation.name] = organisation
        return found

    def person(self, given: PersonIn) -> Person:
        person = self.people.get(given.email)
        if person is None:
            query = select(Person).where(Person.email == given.email)
            person = self.session.scalars(query).one_or_none()
            if person is None:
                insert_ignoring_conflicts(
                    self.session,
                    table_of(Person),
                    {
                        "email": given.email,
                        "name": given.name,
                        "language": given.language,
                        "created_at": self.now,
                    },
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
                    table_of(Organisation),
                    {"name": name, "created_at": self.now},
                )
                organisation = self.session.scalars(query).one()
            self.organisations[name] = organisation
        return organisation


def register_programme(
    uow: UnitOfWork, *, programme: ProgrammeIn, source: str = "", as_of: datetime | None = None
) -> tuple[str, bool]:
    """Create or update a programme by its key; returns (key, created). A programme whose own
    agreement template is outside the templates folder, or fails on a sample placement, is
    refused before anything is written."""
    check_programme_template(programme, templates_dir=uow.config.agreement_templates_dir)
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


def _reserve_references(session: Session, years: Counter[int]) -> dict[int, Iterator[str]]:
    """Readable references for a whole batch: one counter UPDATE per year reserves a block,
    held by the row lock until the batch commits (no gaps, no doubles under concurrency)."""
    reserved: dict[int, Iterator[str]] = {}
    for year, count in sorted(years.items()):
        insert_ignoring_conflicts(
            session,
            table_of(ReferenceCounter),
            {"year": year, "last": 0},
        )
        last = session.execute(
            update(ReferenceCounter)
            .where(ReferenceCounter.year == year)
            .values(last=ReferenceCounter.last + count)
            .returning(ReferenceCounter.last)
        ).scalar_one()
        reserved[year] = iter([f"PL-{year}-{n:04d}" for n in range(last - count + 1, last + 1)])
    return reserved


def _check_against_programmes(
    proposals: Sequence[ProposalIn], programmes: dict[str, Programme], source: str
) -> None:
    errors: list[FieldError] = []
    for number, proposal in enumerate(proposals, start=1):
        programme = programmes.get(proposal.programme)
        if programme is None:
            errors.append(
                FieldError(number, "programme", f"unknown programme {proposal.programme!r}")
            )
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
                    number,
                    "direction",
                    f"{proposal.direction} is not allowed in {programme.key} "
                    f"({programme.direction})",
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
    programme, participant, host organisation and start) returns the existing placement.

    The file is one batch: people, organisations and duplicates are looked up for all rows at
    once, references reserved in one counter update, and the rows inserted and submitted with
    a statement per table, not per row."""
    now = as_of or datetime.now(UTC)
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
        with session.no_autoflush, _collector_paused():
            registered = _register_batch(
                uow, proposals, programmes, actor=actor, via=via, draft=draft, now=now
            )
        uow.commit()
    return registered


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A file of thousands of rows makes some hundred thousand objects that all live until the
    commit: Python's cyclic garbage collector walks them again and again and can free none (a
    third of the CPU time of a 5,000-row file). Paused for the batch, as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


SameProposal = tuple[int, int, int, date]
"""(programme, participant, host organisation, start): what makes two proposals the same."""


def _existing(session: Session, participant_ids: Sequence[int]) -> dict[SameProposal, Placement]:
    found: dict[SameProposal, Placement] = {}
    for chunk in _chunks(participant_ids):
        for placement in session.scalars(
            select(Placement).where(Placement.participant_id.in_(chunk))
        ):
            found[
                (
                    placement.programme_id,
                    placement.participant_id,
                    placement.host_organisation_id,
                    placement.start_date,
                )
            ] = placement
    return found


def _register_batch(
    uow: UnitOfWork,
    proposals: Sequence[ProposalIn],
    programmes: dict[str, Programme],
    *,
    actor: str,
    via: str,
    draft: bool,
    now: datetime,
) -> list[Registered]:
    session = uow.session
    directory = _Directory(session, now)
    directory.preload_people(p.participant for p in proposals)
    directory.preload_organisations(p.host_organisation for p in proposals)
    existing = _existing(
        session, sorted({directory.people[p.participant.email].id for p in proposals})
    )

    # Row by row, as a reader of the file would: a row repeating an earlier row (or a
    # placement already registered) returns that placement instead of a new one.
    same_as: list[SameProposal] = []
    new_rows: dict[SameProposal, int] = {}  # → the row that creates it
    for number, proposal in enumerate(proposals):
        key = (
            programmes[proposal.programme].id,
            directory.people[proposal.participant.email].id,
            directory.organisations[proposal.host_organisation].id,
            proposal.start,
        )
        same_as.append(key)
        if key not in existing and key not in new_rows:
            new_rows[key] = number
    creating = [proposals[number] for number in new_rows.values()]

    directory.preload_people(
        person for p in creating for person in (p.home_manager, p.host_contact)
    )
    directory.preload_organisations(p.home_organisation for p in creating)
    # Names and languages as the rows give them, the last mention winning (a repeated row
    # names only its participant).
    for number, (proposal, key) in enumerate(zip(proposals, same_as, strict=True)):
        directory.person(proposal.participant)
        if new_rows.get(key) == number:
            directory.person(proposal.home_manager)
            directory.person(proposal.host_contact)

    created = _insert_placements(
        uow, creating, programmes, directory, actor=actor, via=via, now=now
    )
    placements = dict(zip(new_rows, created, strict=True))
    if not draft and created:
        apply_event_to_many_in(
            uow, placements=created, event="submit", actor=actor, via=via, as_of=now
        )
    results = []
    for number, key in enumerate(same_as):
        placement = existing.get(key) or placements[key]
        results.append(
            Registered(placement.reference, placement.state, created=new_rows.get(key) == number)
        )
    return results


def _insert_placements(
    uow: UnitOfWork,
    proposals: Sequence[ProposalIn],
    programmes: dict[str, Programme],
    directory: _Directory,
    *,
    actor: str,
    via: str,
    now: datetime,
) -> list[Placement]:
    """One INSERT … RETURNING for the placements (persistent objects come back, their people
    and organisations attached without a query), one INSERT for their 'register' history."""
    if not proposals:
        return []
    session = uow.session
    references = _reserve_references(session, Counter(p.start.year for p in proposals))
    rows = []
    for proposal in proposals:
        programme = programmes[proposal.programme]
        rows.append(
            {
                "reference": next(references[proposal.start.year]),
                "programme_id": programme.id,
                "direction": proposal.direction or programme.direction,
                "state": "proposal",
                "version": 1,
                "state_changed_at": now,
                "participant_id": directory.people[proposal.participant.email].id,
                "home_organisation_id": directory.organisations[proposal.home_organisation].id,
                "home_manager_id": directory.people[proposal.home_manager.email].id,
                "host_organisation_id": directory.organisations[proposal.host_organisation].id,
                "host_contact_id": directory.people[proposal.host_contact.email].id,
                "start_date": proposal.start,
                "end_date": proposal.end,
                "extent_percent": proposal.extent_percent,
                "purpose": proposal.purpose,
                "development_plan": proposal.development_plan,
                "value_for_home": proposal.value_for_home,
                "value_for_host": proposal.value_for_host,
                "student_involvement": proposal.student_involvement,
                "funding_sek": proposal.funding_sek,
                "approval_round": 0,
                "agreement_version": 0,
                "evaluation_due_on": None,
                "created_at": now,
            }
        )
    # Matched back by reference: SQLite does not promise the order of RETURNING, and asking
    # SQLAlchemy to sort makes it insert there one row per statement.
    by_reference = {
        p.reference: p for p in session.scalars(insert(Placement).returning(Placement), rows)
    }
    placements = [by_reference[str(row["reference"])] for row in rows]
    for placement, proposal in zip(placements, proposals, strict=True):
        related = {
            "programme": programmes[proposal.programme],
            "participant": directory.people[proposal.participant.email],
            "home_manager": directory.people[proposal.home_manager.email],
            "host_contact": directory.people[proposal.host_contact.email],
            "home_organisation": directory.organisations[proposal.home_organisation],
            "host_organisation": directory.organisations[proposal.host_organisation],
        }
        for name, value in related.items():
            set_committed_value(placement, name, value)
        for name in COLLECTIONS:
            set_committed_value(placement, name, [])
    session.execute(
        insert(table_of(HistoryEntry)),
        [
            {
                "placement_id": placement.id,
                "version": 1,
                "event": "register",
                "from_state": None,
                "to_state": "proposal",
                "actor": actor,
                "via": via,
                "comment": None,
                "at": now,
                "published_at": None,
            }
            for placement in placements
        ],
    )
    return placements
