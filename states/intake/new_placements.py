"""The placements a batch of proposals creates: references reserved in one counter update,
the rows inserted with one statement, their 'register' history with another."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import HistoryEntry, Placement, Programme, ReferenceCounter, table_of
from models.schemas import ProposalIn
from states.intake.directory import Directory, insert_ignoring_conflicts
from states.lifecycle.loading import COLLECTIONS
from states.unit_of_work import UnitOfWork


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
    reference: str,
    now: datetime,
) -> dict[str, object]:
    """The columns of a new placement in ``proposal``."""
    return {
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


def insert_placements(
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
    rows = [
        _placement_row(
            proposal,
            programmes[proposal.programme],
            directory,
            reference=next(references[proposal.start.year]),
            now=now,
        )
        for proposal in proposals
    ]
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
    _history_of_registration(session, placements, actor=actor, via=via, now=now)
    return placements


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
