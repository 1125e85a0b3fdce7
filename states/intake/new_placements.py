"""The placements a batch of proposals creates: references and ids reserved in one statement
each, the rows inserted with one executemany, their 'register' history with another."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from models import HistoryEntry, Placement, Programme, ReferenceCounter, table_of
from models.ids import complete_rows, reserve_ids
from models.schemas import ProposalIn
from states.intake.directory import Directory, insert_ignoring_conflicts
from states.lifecycle.loading import COLLECTIONS
from states.lifecycle.records import PlacementRecord
from states.unit_of_work import UnitOfWork

_INSERT_PLACEMENTS = insert(table_of(Placement))
_COLUMNS = tuple(table_of(Placement).c.keys())


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


def _placement_row(
    proposal: ProposalIn,
    programme: Programme,
    directory: Directory,
    *,
    id_: int,
    reference: str,
    now: datetime,
) -> dict[str, object]:
    """The columns of a new placement in ``proposal``."""
    return {
        "id": id_,
        "reference": reference,
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


def new_placements(
    uow: UnitOfWork,
    proposals: Sequence[ProposalIn],
    programmes: dict[str, Programme],
    directory: Directory,
    *,
    now: datetime,
) -> list[Placement]:
    """The placements of ``proposals``, references and ids reserved (``models.ids``), not
    written yet (``write_placements``). They are records (as the hot path loads a placement)
    with their programme, people and organisations and no step rows: no ORM object per row,
    nothing read back."""
    if not proposals:
        return []
    session = uow.session
    references = _reserve_references(session, Counter(p.start.year for p in proposals))
    table = table_of(Placement)
    ids = iter(reserve_ids(session.connection(), table, len(proposals)))
    rows = complete_rows(
        table,
        [
            _placement_row(
                proposal,
                programmes[proposal.programme],
                directory,
                id_=next(ids),
                reference=next(references[proposal.start.year]),
                now=now,
            )
            for proposal in proposals
        ],
    )
    return [
        _record(row, proposal, programmes, directory)
        for row, proposal in zip(rows, proposals, strict=True)
    ]


def write_placements(
    uow: UnitOfWork, placements: Sequence[Placement], *, actor: str, via: str, now: datetime
) -> None:
    """Insert the placements as their records now hold them (registered, or as an event
    left them) with one executemany, and their 'register' history with one more."""
    if not placements:
        return
    rows = [{name: vars(placement)[name] for name in _COLUMNS} for placement in placements]
    uow.session.connection().execute(_INSERT_PLACEMENTS, rows)
    _history_of_registration(uow.session, placements, actor=actor, via=via, now=now)


def _record(
    row: dict[str, object],
    proposal: ProposalIn,
    programmes: dict[str, Programme],
    directory: Directory,
) -> Placement:
    """A new placement as a record: its row, whom and what it names, its (empty) step rows."""
    placement = PlacementRecord(row)
    placement.programme = programmes[proposal.programme]
    placement.participant = directory.people[proposal.participant.email]
    placement.home_manager = directory.people[proposal.home_manager.email]
    placement.host_contact = directory.people[proposal.host_contact.email]
    placement.home_organisation = directory.organisations[proposal.home_organisation]
    placement.host_organisation = directory.organisations[proposal.host_organisation]
    for name in COLLECTIONS:
        setattr(placement, name, [])
    return cast(Placement, placement)


def _history_of_registration(
    session: Session, placements: Sequence[Placement], *, actor: str, via: str, now: datetime
) -> None:
    """One INSERT for the 'register' history row of each new placement."""
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
