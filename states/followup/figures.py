"""Programme follow-up as pure data: the funnel, lead times, rates and reasons, money, the
network of hosts and the evaluation results. ``reporting/`` turns it into files and pictures;
the ``programme-report`` flow publishes ``report_markdown`` and ``report_tables`` as artifacts.

Every figure is computed from what the database recorded, as of a moment when one is given
(``states.followup.as_of``): a report as of an earlier day is that day's, not today's under
another date. Nothing here names a person, so the figures survive ``mobility purge``
unchanged.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from models import EvaluationResponse, HistoryEntry, Programme, ReminderLog
from states.followup.answers import evaluation_figures, rounded
from states.followup.as_of import Moment
from states.followup.reading import PlacementThen, find_programme, read_report_data
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
from states.lifecycle.steps import REMINDED, REMINDER_KINDS
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
COUNTED: Mapping[str, str] = {
    **{kind: "reminder" for kind in REMINDER_KINDS},  # on request or by the sweep: a reminder
    "escalation": "escalation",
}


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
        kind = COUNTED.get(log.kind)
        if stage is None or kind is None:
            continue
        counts[(stage, kind)] += 1
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
    placements: Sequence[PlacementThen],
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


def _funnel(
    placements: Sequence[PlacementThen],
) -> tuple[dict[str, int], tuple[CountRow, ...]]:
    funnel = dict.fromkeys(STATES, 0)
    grouped: Counter[tuple[str, str, str]] = Counter()
    for p in placements:
        funnel[p.state] += 1
        grouped[("direction", p.direction, p.state)] += 1
        grouped[("host_organisation", p.host, p.state)] += 1
    order = {state: n for n, state in enumerate(STATES)}
    rows = sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1], order[item[0][2]]))
    return funnel, tuple(CountRow(g, v, s, n) for (g, v, s), n in rows)


def _hosts(placements: Sequence[PlacementThen], earlier: Mapping[int, date]) -> tuple[HostRow, ...]:
    by_host: dict[int, list[PlacementThen]] = defaultdict(list)
    for p in placements:
        by_host[p.placement.host_organisation_id].append(p)
    rows = []
    for host_id, here in by_host.items():
        first = min(p.start_date for p in here)
        rows.append(
            HostRow(
                host_organisation=here[0].host,
                placements=len(here),
                went_ahead=sum(MONEY_STATUS[p.state] == "committed" for p in here),
                first_start=first,
                returning=host_id in earlier and earlier[host_id] < first,
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.placements, r.host_organisation)))


def _money(
    programme: Programme, placements: Sequence[PlacementThen]
) -> tuple[Money, tuple[MoneyRow, ...]]:
    rows = tuple(
        MoneyRow(
            p.reference,
            p.state,
            p.direction,
            p.host,
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


def _responses(
    responses: Sequence[EvaluationResponse], answered: frozenset[int]
) -> dict[str, dict[str, int]]:
    """kind → how many were asked and answered."""
    asked: dict[str, Counter[str]] = defaultdict(Counter)
    for r in responses:
        asked[r.kind]["asked"] += 1
        asked[r.kind]["answered"] += r.id in answered
    return {
        kind: {"asked": c["asked"], "answered": c["answered"]} for kind, c in sorted(asked.items())
    }


def build_report(
    uow: UnitOfWork, *, programme: str, as_of: datetime | None = None
) -> ProgrammeReport:
    """The follow-up of ``programme`` (its key) as of ``as_of``: from what was recorded by
    then (``states.followup.as_of``); None: everything recorded, dated now."""
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    moment = Moment(as_of)
    with uow:
        zone = uow.config.timezone
        data = read_report_data(uow.session, find_programme(uow.session, programme), moment)
        found, placements = data.programme, data.placements
        references = {p.id: p.reference for p in placements}
        milestones = {pid: _milestones(entries) for pid, entries in data.history.items()}
        events = {pid: {e.event for e in entries} for pid, entries in data.history.items()}
        reasons = tuple(
            ReasonRow(
                references[e.placement_id], e.event, e.at.astimezone(zone).date(), e.comment or ""
            )
            for entries in data.history.values()
            for e in entries
            if e.event in REASON_EVENTS
        )
        funnel, grouped = _funnel(placements)
        money, money_rows = _money(found, placements)
        answered = [r for r in data.responses if r.id in data.answered]
        evaluation = evaluation_figures(found, answered, references)
        return ProgrammeReport(
            programme=found.key,
            name=found.name,
            direction=found.direction,
            language=found.language,
            as_of=(as_of or datetime.now(zone)).astimezone(zone),
            historical=as_of is not None,
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
            responses=_responses(data.responses, data.answered),
        )
