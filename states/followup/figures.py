"""Programme follow-up as pure data: the funnel, lead times, rates and reasons, money, the
network of hosts and the evaluation results. ``reporting/`` turns it into files and pictures;
the ``programme-report`` flow publishes ``report_markdown`` and ``report_tables`` as artifacts.

Every figure is computed from the database as it is; nothing here names a person, so the
figures survive ``mobility purge`` unchanged.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from models import EvaluationResponse, HistoryEntry, Placement, Programme, ReminderLog
from states.errors import NotFound
from states.followup.answers import evaluation_figures, rounded
from states.followup.rows import (
    CountRow,
    HostRow,
    LeadTime,
    Money,
    MoneyRow,
    ProgrammeReport,
    RateRow,
    ReasonRow,
    ReminderRow,
)
from states.lifecycle.events import EVENTS_NEEDING_REASON
from states.lifecycle.machine import STATES
from states.lifecycle.steps import REMINDED
from states.unit_of_work import UnitOfWork

DAY_SECONDS = 86400.0

# Where the money of a placement stands, by its state: an accepted agreement commits it.
MONEY_STATUS: Mapping[str, str] = {
    "proposal": "pipeline",
    "manager_approval": "pipeline",
    "agreement": "pipeline",
    "placement": "committed",
    "evaluation": "committed",
    "completed": "committed",
    "cancelled": "committed",
    "declined": "released",
    "withdrawn": "released",
}

# History events whose comment is the reason a person gave.
REASON_EVENTS = EVENTS_NEEDING_REASON

# Lead-time stages: (name, from milestone, to milestone).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("proposal_to_approvals", "submitted", "approved"),
    ("approvals_to_agreement", "approved", "accepted"),
    ("proposal_to_agreement", "submitted", "accepted"),
)

# A reminder's step names its stage: approval-r2 → approval, agreement-v3 → agreement.
REMINDER_STAGES: Mapping[str, str] = {step.name: step.name for step in REMINDED}
REMINDER_KINDS = ("reminder", "escalation")


# --- figures -------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default, Excel's PERCENTILE)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _milestones(history: Iterable[HistoryEntry]) -> dict[str, datetime]:
    """When a placement was first submitted, fully approved and its agreement accepted."""
    found: dict[str, datetime] = {}
    marks = {
        ("submit", None): "submitted",
        (None, ("manager_approval", "agreement")): "approved",
        (None, ("agreement", "placement")): "accepted",
    }
    for entry in history:
        for (event, move), name in marks.items():
            matches = entry.event == event if event else (entry.from_state, entry.to_state) == move
            if matches and name not in found:
                found[name] = entry.at
    return found


def _lead_times(milestones: Mapping[int, Mapping[str, datetime]]) -> tuple[LeadTime, ...]:
    result = []
    for stage, start, end in STAGES:
        days = tuple(
            round((marks[end] - marks[start]).total_seconds() / DAY_SECONDS, 4)
            for marks in milestones.values()
            if start in marks and end in marks
        )
        result.append(
            LeadTime(
                stage=stage,
                placements=len(days),
                median_days=rounded(statistics.median(days)) if days else None,
                p90_days=rounded(percentile(days, 0.9)) if days else None,
                days=days,
            )
        )
    return tuple(result)


def _reminders(logs: Sequence[ReminderLog]) -> tuple[ReminderRow, ...]:
    counts: Counter[tuple[str, str]] = Counter()
    reminded: dict[str, set[int]] = defaultdict(set)
    for log in logs:
        stage = REMINDER_STAGES.get(log.step.split("-")[0])
        if stage is None or log.kind not in REMINDER_KINDS:
            continue
        counts[(stage, log.kind)] += 1
        reminded[stage].add(log.placement_id)
    return tuple(
        ReminderRow(
            stage, counts[(stage, "reminder")], counts[(stage, "escalation")], len(reminded[stage])
        )
        for stage in dict.fromkeys(REMINDER_STAGES.values())
    )


def _rate(measure: str, count: int, out_of: int) -> RateRow:
    return RateRow(measure, count, out_of, round(count / out_of, 4) if out_of else None)


def _rates(
    placements: Sequence[Placement],
    milestones: Mapping[int, Mapping[str, datetime]],
    events: Mapping[int, set[str]],
) -> tuple[RateRow, ...]:
    submitted = [p for p in placements if "submitted" in milestones[p.id]]
    n = len(submitted)
    return (
        _rate("submitted", n, len(placements)),
        _rate("approved", sum("approved" in milestones[p.id] for p in submitted), n),
        _rate("changes_requested", sum("request_changes" in events[p.id] for p in submitted), n),
        _rate("declined", sum(p.state == "declined" for p in submitted), n),
        _rate("withdrawn", sum(p.state == "withdrawn" for p in submitted), n),
        _rate("cancelled", sum(p.state == "cancelled" for p in submitted), n),
        _rate("agreement_accepted", sum("accepted" in milestones[p.id] for p in submitted), n),
        _rate("completed", sum(p.state == "completed" for p in submitted), n),
    )


def _funnel(placements: Sequence[Placement]) -> tuple[dict[str, int], tuple[CountRow, ...]]:
    funnel = dict.fromkeys(STATES, 0)
    grouped: Counter[tuple[str, str, str]] = Counter()
    for p in placements:
        funnel[p.state] += 1
        grouped[("direction", p.direction, p.state)] += 1
        grouped[("host_organisation", p.host_organisation.name, p.state)] += 1
    order = {state: n for n, state in enumerate(STATES)}
    rows = sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1], order[item[0][2]]))
    return funnel, tuple(CountRow(g, v, s, n) for (g, v, s), n in rows)


def _hosts(placements: Sequence[Placement], earlier: Mapping[int, date]) -> tuple[HostRow, ...]:
    by_host: dict[int, list[Placement]] = defaultdict(list)
    for p in placements:
        by_host[p.host_organisation_id].append(p)
    rows = []
    for host_id, here in by_host.items():
        first = min(p.start_date for p in here)
        rows.append(
            HostRow(
                host_organisation=here[0].host_organisation.name,
                placements=len(here),
                went_ahead=sum(MONEY_STATUS[p.state] == "committed" for p in here),
                first_start=first,
                returning=host_id in earlier and earlier[host_id] < first,
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.placements, r.host_organisation)))


def _money(
    programme: Programme, placements: Sequence[Placement]
) -> tuple[Money, tuple[MoneyRow, ...]]:
    rows = tuple(
        MoneyRow(
            p.reference,
            p.state,
            p.direction,
            p.host_organisation.name,
            p.funding_sek,
            MONEY_STATUS[p.state],
        )
        for p in sorted(placements, key=lambda p: p.reference)
    )
    totals: Counter[str] = Counter()
    for row in rows:
        totals[row.status] += row.funding_sek
    money = Money(programme.budget_sek, totals["committed"], totals["pipeline"], totals["released"])
    return money, rows


def _programme(session: Session, key: str) -> Programme:
    found = session.scalars(select(Programme).where(Programme.key == key)).one_or_none()
    if found is None:
        keys = ", ".join(session.scalars(select(Programme.key).order_by(Programme.key)))
        raise NotFound(f"no programme {key!r}; programmes are: {keys or 'none yet'}")
    return found


def placements_per_state(uow: UnitOfWork, *, programme: str) -> dict[str, int]:
    """How many placements of ``programme`` are in each state (inside the caller's ``with``)."""
    found = _programme(uow.session, programme)
    return dict(
        uow.session.execute(
            select(Placement.state, func.count())
            .where(Placement.programme_id == found.id)
            .group_by(Placement.state)
            .order_by(Placement.state)
        ).all()
    )


@dataclass(frozen=True)
class _Data:
    """What the report is computed from: one programme's rows, read in one transaction."""

    programme: Programme
    placements: list[Placement]
    history: Sequence[HistoryEntry]
    responses: Sequence[EvaluationResponse]
    logs: Sequence[ReminderLog]
    earlier: Mapping[int, date]
    """Host organisation → the latest start of a placement there in another programme."""


def _read(session: Session, found: Programme) -> _Data:
    placements = list(
        session.scalars(
            select(Placement)
            .where(Placement.programme_id == found.id)
            .options(joinedload(Placement.host_organisation))
            .order_by(Placement.id)
        )
    )
    ids = [p.id for p in placements]
    if not ids:
        return _Data(found, placements, [], [], [], {})
    history = session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.placement_id.in_(ids))
        .order_by(HistoryEntry.placement_id, HistoryEntry.version)
    ).all()
    responses = session.scalars(
        select(EvaluationResponse)
        .where(EvaluationResponse.placement_id.in_(ids))
        .order_by(EvaluationResponse.id)
    ).all()
    logs = session.scalars(select(ReminderLog).where(ReminderLog.placement_id.in_(ids))).all()
    hosts = {p.host_organisation_id for p in placements}
    earlier = dict(
        session.execute(
            select(Placement.host_organisation_id, Placement.start_date)
            .where(Placement.host_organisation_id.in_(hosts), Placement.programme_id != found.id)
            .order_by(Placement.start_date.desc())
        ).all()
    )
    return _Data(found, placements, history, responses, logs, earlier)


def _responses(responses: Sequence[EvaluationResponse]) -> dict[str, dict[str, int]]:
    """kind → how many were asked and answered."""
    asked: dict[str, Counter[str]] = defaultdict(Counter)
    for r in responses:
        asked[r.kind]["asked"] += 1
        asked[r.kind]["answered"] += r.submitted_at is not None
    return {
        kind: {"asked": c["asked"], "answered": c["answered"]} for kind, c in sorted(asked.items())
    }


def build_report(uow: UnitOfWork, *, programme: str, as_of: datetime) -> ProgrammeReport:
    """The follow-up of ``programme`` (its key) as the database stands; ``as_of`` dates it."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    with uow:
        data = _read(uow.session, _programme(uow.session, programme))
        found, placements = data.programme, data.placements
        ids = [p.id for p in placements]
        references = {p.id: p.reference for p in placements}
        per_placement: dict[int, list[HistoryEntry]] = defaultdict(list)
        for entry in data.history:
            per_placement[entry.placement_id].append(entry)
        milestones = {pid: _milestones(per_placement[pid]) for pid in ids}
        events = {pid: {e.event for e in per_placement[pid]} for pid in ids}
        reasons = tuple(
            ReasonRow(
                references[e.placement_id],
                e.event,
                e.at.astimezone(uow.config.timezone).date(),
                e.comment or "",
            )
            for e in data.history
            if e.event in REASON_EVENTS
        )
        funnel, grouped = _funnel(placements)
        money, money_rows = _money(found, placements)
        evaluation = evaluation_figures(found, data.responses, references)
        return ProgrammeReport(
            programme=found.key,
            name=found.name,
            direction=found.direction,
            as_of=as_of,
            placements=len(placements),
            funnel=funnel,
            funnel_by_group=grouped,
            lead_times=_lead_times(milestones),
            reminders=_reminders(data.logs),
            rates=_rates(placements, milestones, events),
            reasons=reasons,
            money=money,
            money_by_placement=money_rows,
            hosts=_hosts(placements, data.earlier),
            scores=tuple(evaluation.scores),
            yes_no=tuple(evaluation.yes_no),
            options=tuple(evaluation.options),
            texts=tuple(evaluation.texts),
            responses=_responses(data.responses),
        )
