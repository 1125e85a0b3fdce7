"""Register programmes and placement proposals: all rows of a file, or none of them."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import HistoryEntry, Placement, Programme, ReferenceCounter, table_of
from models.schemas import ProgrammeIn, ProposalIn
from states.agreement import check_programme_template
from states.directory import Directory, chunks, insert_ignoring_conflicts
from states.errors import ErrorList, FieldError
from states.input_files import ProposalBatch
from states.loading import COLLECTIONS
from states.transitions import apply_event_to_many_in
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Registered:
    reference: str
    state: str
    created: bool


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
        coordinator = Directory(session, now).person(programme.coordinator)
        values = {
            "name": programme.name,
            "direction": programme.direction,
            "language": programme.language,
            "coordinator_id": coordinator.id,
            "coordinator_emails": [str(email) for email in programme.coordinators.emails],
            "coordinator_groups": list(programme.coordinators.groups),
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


def _against_programmes(
    rows: Sequence[tuple[int, ProposalIn]], programmes: dict[str, Programme]
) -> list[FieldError]:
    errors: list[FieldError] = []
    for number, proposal in rows:
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
    return errors


def _programmes(session: Session, keys: Iterable[str]) -> dict[str, Programme]:
    query = (
        select(Programme)
        .where(Programme.key.in_(set(keys)))
        .options(joinedload(Programme.coordinator))
    )
    return {programme.key: programme for programme in session.scalars(query)}


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
    batch = ProposalBatch(rows=list(enumerate(proposals, start=1)), errors=[])
    return register_proposal_batches(
        uow, batches=[batch], actor=actor, via=via, draft=draft, as_of=as_of, source=source
    )


def register_proposal_batches(
    uow: UnitOfWork,
    *,
    batches: Iterable[ProposalBatch],
    actor: str,
    via: str,
    draft: bool = False,
    as_of: datetime | None = None,
    source: str = "input",
) -> list[Registered]:
    """Register the proposals of a file batch by batch in one transaction: every row, or none
    if any row anywhere is invalid (then every error is counted and the first ones named).

    Each batch is a few statements per table (people, organisations and duplicates looked up
    for all its rows at once, references reserved in one counter update, rows inserted and
    submitted with a statement per table). Its objects are written and let go before the next
    batch is read, so memory stays that of one batch, whatever the size of the file. After the
    first error nothing more is written; the rest of the file is only checked."""
    now = as_of or datetime.now(UTC)
    errors = ErrorList()
    registered: list[Registered] = []
    with uow:
        session = uow.session
        for batch in batches:
            errors.extend(batch.errors)
            programmes = _programmes(session, (p.programme for _, p in batch.rows))
            errors.extend(_against_programmes(batch.rows, programmes))
            if errors:  # read on, to count every error; an invalid batch cannot be written
                continue
            with session.no_autoflush, _collector_paused():
                registered += _register_batch(
                    uow,
                    [proposal for _, proposal in batch.rows],
                    programmes,
                    actor=actor,
                    via=via,
                    draft=draft,
                    now=now,
                )
            session.flush()  # the names and languages the rows changed
            session.expunge_all()  # nothing of this batch outlives it
        errors.raise_if_any(source=source)
        uow.commit()
    return registered


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A batch of thousands of rows makes some hundred thousand objects that all live until
    the batch is written: Python's cyclic garbage collector would walk them again and again and
    free none (a third of the CPU time of a 5,000-row file). Paused for the batch, as it was
    afterwards, so what the batch leaves is collected before the next one."""
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
    for chunk in chunks(participant_ids):
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
    directory = Directory(session, now)
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
    directory: Directory,
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
