"""Register programmes and placement proposals: all rows of a file, or none of them."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import Placement, Programme
from models.schemas import ProgrammeIn, ProposalIn
from states.errors import ErrorList, FieldError
from states.intake.directory import Directory, chunks
from states.intake.input_files import ProposalBatch
from states.intake.new_placements import new_placements, write_placements
from states.lifecycle.transitions import apply_event_to_many_in
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
    from states.documents.agreement import check_programme_template  # Jinja: programmes only

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
            "agreement_binding_language": programme.agreement.binding_language,
            "reminder_first_after": programme.reminders.first_after,
            "reminder_repeat_every": programme.reminders.repeat_every,
            "escalate_after": programme.reminders.escalate_after,
            "start_notice_days": programme.start_notice.business_days_before,
            "welcome_on_start": programme.start_notice.welcome,
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


def errors_against_programmes(
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


def programmes_by_key(session: Session, keys: Iterable[str]) -> dict[str, Programme]:
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
        unread = iter(batches)
        while True:
            with _collector_paused():  # from the batch's reading to its writing
                batch = next(unread, None)
                if batch is None:
                    break
                errors.extend(batch.errors)
                programmes = programmes_by_key(session, (p.programme for _, p in batch.rows))
                errors.extend(errors_against_programmes(batch.rows, programmes))
                if errors:  # read on, to count every error; an invalid batch cannot be written
                    continue
                with session.no_autoflush:
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
    free none (a third of the CPU time of a 5,000-row file). Paused for the batch from its
    reading and validation (where collections took another 70 ms of that file's 2.3 s: a full
    one walks all the process imported, too) to its writing; resumed before the next batch is
    read, so what this one leaves is collected then."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_and_submit(
    uow: UnitOfWork,
    placements: Sequence[Placement],
    *,
    submit: bool,
    actor: str,
    via: str,
    now: datetime,
) -> None:
    """New placements written as registered, or submitted: then they are inserted as the
    submit leaves them, where the event's compare-and-set UPDATE would go (a second write of
    every row, for a race no other transaction can join: the rows are not visible yet)."""

    def write() -> None:
        write_placements(uow, placements, actor=actor, via=via, now=now)

    if not submit or not placements:
        write()
        return
    apply_event_to_many_in(
        uow, placements=placements, event="submit", actor=actor, via=via, as_of=now, unwritten=write
    )


SameProposal = tuple[int, int, int, date]
"""(programme, participant, host organisation, start): what makes two proposals the same."""


def existing_placements(
    session: Session, participant_ids: Sequence[int]
) -> dict[SameProposal, Placement]:
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


def _sameness(
    proposals: Sequence[ProposalIn],
    programmes: dict[str, Programme],
    directory: Directory,
    existing: dict[SameProposal, Placement],
) -> tuple[list[SameProposal], dict[SameProposal, int]]:
    """Row by row, as a reader of the file would: a row repeating an earlier row (or a
    placement already registered) returns that placement instead of a new one. Returns each
    row's key, and the rows that create a placement (key → row)."""
    same_as: list[SameProposal] = []
    new_rows: dict[SameProposal, int] = {}
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
    return same_as, new_rows


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
    existing = existing_placements(
        session, sorted({directory.people[p.participant.email].id for p in proposals})
    )

    same_as, new_rows = _sameness(proposals, programmes, directory, existing)
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

    created = new_placements(uow, creating, programmes, directory, now=now)
    placements = dict(zip(new_rows, created, strict=True))
    _write_and_submit(uow, created, submit=not draft, actor=actor, via=via, now=now)
    results = []
    for number, key in enumerate(same_as):
        placement = existing.get(key) or placements[key]
        results.append(
            Registered(placement.reference, placement.state, created=new_rows.get(key) == number)
        )
    return results
