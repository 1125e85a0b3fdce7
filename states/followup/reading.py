"""What the programme report is computed from: one programme's rows, read in one transaction,
with what was recorded after the report's moment left out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import EvaluationResponse, HistoryEntry, Placement, Programme, ReminderLog
from states.errors import NotFound
from states.followup.as_of import Moment


@dataclass(frozen=True)
class PlacementThen:
    """A placement as it stood at the report's moment."""

    placement: Placement
    state: str
    funding_sek: int
    start_date: date

    @property
    def id(self) -> int:
        return self.placement.id

    @property
    def reference(self) -> str:
        return self.placement.reference

    @property
    def direction(self) -> str:
        return self.placement.direction

    @property
    def host(self) -> str:
        return self.placement.host_organisation.name


@dataclass(frozen=True)
class ReportData:
    programme: Programme
    placements: list[PlacementThen]
    history: Mapping[int, Sequence[HistoryEntry]]
    """Placement id → its history up to the moment, in version order."""
    responses: Sequence[EvaluationResponse]
    """Asked by the moment; ``answered`` says which were answered by then."""
    answered: frozenset[int] = field(default=frozenset())
    logs: Sequence[ReminderLog] = ()
    earlier: Mapping[int, date] = field(default_factory=dict)
    """Host organisation → the latest start of a placement there in another programme."""


def find_programme(session: Session, key: str) -> Programme:
    found = session.scalars(select(Programme).where(Programme.key == key)).one_or_none()
    if found is None:
        keys = ", ".join(session.scalars(select(Programme.key).order_by(Programme.key)))
        raise NotFound(f"no programme {key!r}; programmes are: {keys or 'none yet'}")
    return found


def _then(placement: Placement, entries: Sequence[HistoryEntry], moment: Moment) -> PlacementThen:
    state = moment.state(entries)
    assert state is not None
    start = moment.term(entries, "start", placement.start_date)
    return PlacementThen(
        placement,
        state,
        int(moment.term(entries, "funding_sek", placement.funding_sek)),
        date.fromisoformat(start) if isinstance(start, str) else start,
    )


def read_report_data(session: Session, found: Programme, moment: Moment) -> ReportData:
    rows = list(
        session.scalars(
            select(Placement)
            .where(Placement.programme_id == found.id)
            .options(joinedload(Placement.host_organisation))
            .order_by(Placement.id)
        )
    )
    ids = [p.id for p in rows]
    if not ids:
        return ReportData(found, [], {}, [])
    every: dict[int, list[HistoryEntry]] = defaultdict(list)
    for entry in session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.placement_id.in_(ids))
        .order_by(HistoryEntry.placement_id, HistoryEntry.version)
    ):
        every[entry.placement_id].append(entry)
    placements = [_then(p, every[p.id], moment) for p in rows if moment.state(every[p.id])]
    known = {p.id for p in placements}
    responses = [
        r
        for r in session.scalars(
            select(EvaluationResponse)
            .where(EvaluationResponse.placement_id.in_(known))
            .order_by(EvaluationResponse.id)
        )
        if moment.counts(r.requested_at)
    ]
    logs = [
        log
        for log in session.scalars(select(ReminderLog).where(ReminderLog.placement_id.in_(known)))
        if moment.counts(log.at)
    ]
    hosts = {p.placement.host_organisation_id for p in placements}
    others = select(Placement.host_organisation_id, Placement.start_date).where(
        Placement.host_organisation_id.in_(hosts), Placement.programme_id != found.id
    )
    if moment.cutoff is not None:
        others = others.where(Placement.created_at <= moment.cutoff)
    earlier = dict(session.execute(others.order_by(Placement.start_date.desc())).all())
    return ReportData(
        programme=found,
        placements=placements,
        history={pid: moment.history(every[pid]) for pid in known},
        responses=responses,
        answered=frozenset(r.id for r in responses if moment.counts(r.submitted_at)),
        logs=logs,
        earlier=earlier,
    )
