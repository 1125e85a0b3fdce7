"""A proposal file as it would be registered, row by row, without writing anything: every
error by row and field (the checks of ``register_proposal_batches``: the rows' own, then the
programme's), and which rows are already registered or repeat an earlier row.

The board shows this before its one button registers the whole file (issue 12). Only reads:
people, organisations and placements are looked up, never created.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from models.schemas import ProposalIn
from models.text import single_line
from states.errors import FieldError
from states.intake.directory import Directory
from states.intake.input_files import ProposalBatch
from states.intake.registration import (
    errors_against_programmes,
    existing_placements,
    programmes_by_key,
)
from states.unit_of_work import UnitOfWork


def for_programme(batches: Iterable[ProposalBatch], key: str) -> Iterator[ProposalBatch]:
    """The batches with every row of another programme turned into an error of that row: a
    file uploaded to one programme registers in that programme only."""
    for batch in batches:
        mine = [(number, p) for number, p in batch.rows if p.programme == key]
        others = [
            FieldError(number, "programme", f"{p.programme} is not this programme ({key})")
            for number, p in batch.rows
            if p.programme != key
        ]
        invalid = {
            **batch.invalid,
            **{n: p.model_dump(mode="json") for n, p in batch.rows if p.programme != key},
        }
        yield ProposalBatch(rows=mine, errors=[*batch.errors, *others], invalid=invalid)


@dataclass(frozen=True)
class PreviewRow:
    number: int
    proposal: ProposalIn | None
    """None when the row is not a valid proposal (its ``errors`` say why)."""
    errors: tuple[FieldError, ...] = ()
    given: Mapping[str, str] = field(default_factory=dict)
    """An invalid row's participant, host and dates as the file gives them (cleaned, one
    line each): what the coordinator finds the row by."""
    registered: str | None = None
    """The reference of the placement this row already is."""
    repeats: int | None = None
    """The earlier row of the file this one repeats (it registers as that row's placement)."""


@dataclass(frozen=True)
class Preview:
    rows: tuple[PreviewRow, ...]
    file_errors: tuple[FieldError, ...]
    """Errors of the file as a whole (no row)."""

    @property
    def invalid(self) -> int:
        return sum(1 for row in self.rows if row.errors) + (1 if self.file_errors else 0)

    @property
    def new(self) -> int:
        return sum(1 for r in self.rows if not r.errors and not r.registered and not r.repeats)

    @property
    def already(self) -> int:
        return sum(1 for row in self.rows if not row.errors and row.registered)


Sameness = tuple[str, str, str, date]
"""What makes two proposals the same (``registration.SameProposal``, by names not ids)."""


def _sameness(proposal: ProposalIn) -> Sameness:
    return (
        proposal.programme,
        proposal.participant.email,
        proposal.host_organisation,
        proposal.start,
    )


def _registered(session: Session, rows: Sequence[tuple[int, ProposalIn]]) -> dict[int, str]:
    """Row number → reference, for the rows already registered (read only)."""
    directory = Directory(session, datetime.now(UTC))  # only its look-ups: nothing is created
    people = directory.people_by_email(sorted({p.participant.email for _, p in rows}))
    hosts = directory.organisations_by_name(sorted({p.host_organisation for _, p in rows}))
    programmes = programmes_by_key(session, {p.programme for _, p in rows})
    existing = existing_placements(session, sorted(person.id for person in people.values()))
    found: dict[int, str] = {}
    for number, p in rows:
        person, host = people.get(p.participant.email), hosts.get(p.host_organisation)
        if person is None or host is None or p.programme not in programmes:
            continue
        placement = existing.get((programmes[p.programme].id, person.id, host.id, p.start))
        if placement is not None:
            found[number] = placement.reference
    return found


GIVEN = {
    "participant": ("participant", "name"),
    "email": ("participant", "email"),
    "host": ("host_organisation",),
    "start": ("start",),
    "end": ("end",),
}


def _given(row: Mapping[str, Any]) -> dict[str, str]:
    """What an invalid row says of itself, as text fit to show (never validated: cleaned)."""
    given: dict[str, str] = {}
    for name, path in GIVEN.items():
        value: Any = row
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is not None:
            given[name] = single_line(str(value))[:200]
    return given


def _batch_rows(
    session: Session, batch: ProposalBatch, first_of: dict[Sameness, int]
) -> list[PreviewRow]:
    errors: dict[int | None, list[FieldError]] = defaultdict(list)
    programmes = programmes_by_key(session, (p.programme for _, p in batch.rows))
    for error in [*batch.errors, *errors_against_programmes(batch.rows, programmes)]:
        errors[error.row].append(error)
    valid = [(n, p) for n, p in batch.rows if n not in errors]
    registered = _registered(session, valid)
    proposals = {n for n, _ in batch.rows}
    rows = [
        PreviewRow(n, None, tuple(e), given=_given(batch.invalid.get(n, {})))
        for n, e in errors.items()
        if n is not None and n not in proposals
    ]
    for number, proposal in batch.rows:
        if number in errors:
            rows.append(PreviewRow(number, proposal, tuple(errors[number])))
            continue
        key = _sameness(proposal)
        first = first_of.setdefault(key, number)
        repeats = first if first != number else None
        rows.append(
            PreviewRow(number, proposal, registered=registered.get(number), repeats=repeats)
        )
    return rows


def preview_proposals(uow: UnitOfWork, *, batches: Iterable[ProposalBatch]) -> Preview:
    """Every row of the file: its errors, or what registering it would do. Reads only."""
    rows: dict[int, PreviewRow] = {}
    file_errors: list[FieldError] = []
    first_of: dict[Sameness, int] = {}
    with uow:
        for batch in batches:
            file_errors += [e for e in batch.errors if e.row is None]
            rows.update((row.number, row) for row in _batch_rows(uow.session, batch, first_of))
    return Preview(rows=tuple(rows[n] for n in sorted(rows)), file_errors=tuple(file_errors))
