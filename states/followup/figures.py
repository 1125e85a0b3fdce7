"""Programme follow-up as pure data: the funnel, lead times, rates and reasons, money, the
network of hosts and the evaluation results. ``reporting/`` turns it into files and pictures;
the ``programme-report`` flow publishes ``report_markdown`` and ``report_tables`` as artifacts.

Every figure is computed from the database as it is; nothing here names a person, so the
figures survive ``mobility purge`` unchanged.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import EvaluationResponse, HistoryEntry, Placement, Programme, ReminderLog
from models.text import markdown_text
from states.errors import NotFound
from states.lifecycle.evaluation import Question, questions_for
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


# --- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountRow:
    group: str
    """``direction`` or ``host_organisation`` (empty for the whole programme)."""
    value: str
    state: str
    placements: int


@dataclass(frozen=True)
class LeadTime:
    stage: str
    placements: int
    median_days: float | None
    p90_days: float | None
    days: tuple[float, ...] = field(default=(), repr=False)
    """Every placement's figure, for the distribution picture (not a table column)."""


@dataclass(frozen=True)
class ReminderRow:
    stage: str
    reminders: int
    escalations: int
    placements_reminded: int


@dataclass(frozen=True)
class RateRow:
    measure: str
    placements: int
    out_of: int
    rate: float | None


@dataclass(frozen=True)
class ReasonRow:
    reference: str
    event: str
    on: date
    reason: str


@dataclass(frozen=True)
class MoneyRow:
    reference: str
    state: str
    direction: str
    host_organisation: str
    funding_sek: int
    status: str


@dataclass(frozen=True)
class HostRow:
    host_organisation: str
    placements: int
    went_ahead: int
    first_start: date
    returning: bool
    """The host had a placement in another programme that started before its first here."""


@dataclass(frozen=True)
class ScoreRow:
    kind: str
    role: str
    question: str
    label: str
    answers: int
    mean: float | None
    median: float | None
    score_1: int
    score_2: int
    score_3: int
    score_4: int
    score_5: int


@dataclass(frozen=True)
class YesNoRow:
    kind: str
    role: str
    question: str
    label: str
    answers: int
    yes: int
    no: int


@dataclass(frozen=True)
class OptionRow:
    kind: str
    role: str
    question: str
    option: str
    label: str
    ticked: int


@dataclass(frozen=True)
class TextRow:
    kind: str
    reference: str
    role: str
    question: str
    text: str


@dataclass(frozen=True)
class Money:
    budget_sek: int
    committed_sek: int
    pipeline_sek: int
    released_sek: int

    @property
    def remaining_sek(self) -> int:
        return self.budget_sek - self.committed_sek

    @property
    def committed_share(self) -> float | None:
        return self.committed_sek / self.budget_sek if self.budget_sek else None


@dataclass(frozen=True)
class ProgrammeReport:
    programme: str
    name: str
    direction: str
    as_of: datetime
    placements: int
    funnel: Mapping[str, int]
    funnel_by_group: tuple[CountRow, ...]
    lead_times: tuple[LeadTime, ...]
    reminders: tuple[ReminderRow, ...]
    rates: tuple[RateRow, ...]
    reasons: tuple[ReasonRow, ...]
    money: Money
    money_by_placement: tuple[MoneyRow, ...]
    hosts: tuple[HostRow, ...]
    scores: tuple[ScoreRow, ...]
    yes_no: tuple[YesNoRow, ...]
    options: tuple[OptionRow, ...]
    texts: tuple[TextRow, ...]
    responses: Mapping[str, Mapping[str, int]]
    """kind → {"asked": n, "answered": n}: how many evaluations and check-ins came back."""


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


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


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
                median_days=_rounded(statistics.median(days)) if days else None,
                p90_days=_rounded(percentile(days, 0.9)) if days else None,
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


@dataclass
class _Evaluation:
    references: Mapping[int, str]
    scores: list[ScoreRow] = field(default_factory=list)
    yes_no: list[YesNoRow] = field(default_factory=list)
    options: list[OptionRow] = field(default_factory=list)
    texts: list[TextRow] = field(default_factory=list)


def _score_row(kind: str, role: str, q: Question, values: list[Any]) -> ScoreRow:
    numbers = [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    counts = Counter(numbers)
    return ScoreRow(
        kind,
        role,
        q.key,
        q.label,
        len(numbers),
        _rounded(statistics.fmean(numbers)) if numbers else None,
        _rounded(statistics.median(numbers)) if numbers else None,
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
    )


def _add_scores(
    out: _Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    out.scores.append(_score_row(kind, role, q, _values(rows, q)))


def _add_yes_no(
    out: _Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    values = _values(rows, q)
    yes = sum(v is True for v in values)
    out.yes_no.append(YesNoRow(kind, role, q.key, q.label, len(values), yes, len(values) - yes))


def _add_options(
    out: _Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    ticked = Counter(
        v for value in _values(rows, q) for v in (value if isinstance(value, list) else [value])
    )
    out.options.extend(
        OptionRow(kind, role, q.key, option, label, ticked[option]) for option, label in q.options
    )


def _add_texts(
    out: _Evaluation, kind: str, role: str, q: Question, rows: Sequence[EvaluationResponse]
) -> None:
    out.texts.extend(
        TextRow(kind, out.references[r.placement_id], role, q.key, str(r.answers[q.key]))
        for r in rows
        if r.answers and r.answers.get(q.key)
    )


# How the answers to each kind of question are summed up.
_AGGREGATES: Mapping[str, Callable[..., None]] = {
    "scale": _add_scores,
    "yesno": _add_yes_no,
    "multi": _add_options,
    "choice": _add_options,
    "text": _add_texts,
}


def _values(rows: Sequence[EvaluationResponse], q: Question) -> list[Any]:
    return [r.answers[q.key] for r in rows if r.answers and q.key in r.answers]


def _evaluation(
    programme: Programme, responses: Sequence[EvaluationResponse], references: Mapping[int, str]
) -> _Evaluation:
    result = _Evaluation(references=references)
    answered: dict[tuple[str, str], list[EvaluationResponse]] = defaultdict(list)
    for r in responses:
        if r.submitted_at is not None and r.answers is not None:
            answered[(r.kind, r.role)].append(r)
    for (kind, role), rows in sorted(answered.items()):
        for q in questions_for(programme, role=role, language="en", kind=kind):
            _AGGREGATES[q.kind](result, kind, role, q, rows)
    result.texts.sort(key=lambda t: (t.kind, t.reference, t.role, t.question))
    return result


def build_report(uow: UnitOfWork, *, programme: str, as_of: datetime) -> ProgrammeReport:
    """The follow-up of ``programme`` (its key) as the database stands; ``as_of`` dates it."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    with uow:
        session = uow.session
        found = session.scalars(select(Programme).where(Programme.key == programme)).one_or_none()
        if found is None:
            keys = ", ".join(session.scalars(select(Programme.key).order_by(Programme.key)))
            raise NotFound(f"no programme {programme!r}; programmes are: {keys or 'none yet'}")
        placements = list(
            session.scalars(
                select(Placement)
                .where(Placement.programme_id == found.id)
                .options(joinedload(Placement.host_organisation))
                .order_by(Placement.id)
            )
        )
        ids = [p.id for p in placements]
        references = {p.id: p.reference for p in placements}
        history = (
            session.scalars(
                select(HistoryEntry)
                .where(HistoryEntry.placement_id.in_(ids))
                .order_by(HistoryEntry.placement_id, HistoryEntry.version)
            ).all()
            if ids
            else []
        )
        responses = (
            session.scalars(
                select(EvaluationResponse)
                .where(EvaluationResponse.placement_id.in_(ids))
                .order_by(EvaluationResponse.id)
            ).all()
            if ids
            else []
        )
        logs = (
            session.scalars(select(ReminderLog).where(ReminderLog.placement_id.in_(ids))).all()
            if ids
            else []
        )
        hosts = {p.host_organisation_id for p in placements}
        earlier = (
            dict(
                session.execute(
                    select(Placement.host_organisation_id, Placement.start_date)
                    .where(
                        Placement.host_organisation_id.in_(hosts),
                        Placement.programme_id != found.id,
                    )
                    .order_by(Placement.start_date.desc())
                ).all()
            )
            if hosts
            else {}
        )

        per_placement: dict[int, list[HistoryEntry]] = defaultdict(list)
        for entry in history:
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
            for e in history
            if e.event in REASON_EVENTS
        )
        funnel, grouped = _funnel(placements)
        money, money_rows = _money(found, placements)
        evaluation = _evaluation(found, responses, references)
        asked: dict[str, Counter[str]] = defaultdict(Counter)
        for r in responses:
            asked[r.kind]["asked"] += 1
            asked[r.kind]["answered"] += r.submitted_at is not None
        return ProgrammeReport(
            programme=found.key,
            name=found.name,
            direction=found.direction,
            as_of=as_of,
            placements=len(placements),
            funnel=funnel,
            funnel_by_group=grouped,
            lead_times=_lead_times(milestones),
            reminders=_reminders(logs),
            rates=_rates(placements, milestones, events),
            reasons=reasons,
            money=money,
            money_by_placement=money_rows,
            hosts=_hosts(placements, earlier),
            scores=tuple(evaluation.scores),
            yes_no=tuple(evaluation.yes_no),
            options=tuple(evaluation.options),
            texts=tuple(evaluation.texts),
            responses={
                kind: {"asked": c["asked"], "answered": c["answered"]}
                for kind, c in sorted(asked.items())
            },
        )


# --- tables and Markdown -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Dates as ISO text: the tables go to CSV, JSON and Prefect table artifacts as they are."""
    return value.isoformat() if isinstance(value, date | datetime) else value


def _rows(items: Iterable[Any], *, drop: Sequence[str] = ()) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in asdict(item).items() if k not in drop} for item in items]


def report_summary(report: ProgrammeReport) -> dict[str, Any]:
    money = report.money
    return {
        "programme": report.programme,
        "name": report.name,
        "direction": report.direction,
        "as_of": report.as_of.isoformat(),
        "placements": report.placements,
        "budget_sek": money.budget_sek,
        "committed_sek": money.committed_sek,
        "pipeline_sek": money.pipeline_sek,
        "released_sek": money.released_sek,
        "remaining_sek": money.remaining_sek,
        "committed_share": _rounded(money.committed_share),
        "host_organisations": len(report.hosts),
        "returning_hosts": sum(h.returning for h in report.hosts),
        "first_time_hosts": sum(not h.returning for h in report.hosts),
        "evaluations_asked": report.responses.get("evaluation", {}).get("asked", 0),
        "evaluations_answered": report.responses.get("evaluation", {}).get("answered", 0),
        "checkins_asked": report.responses.get("checkin", {}).get("asked", 0),
        "checkins_answered": report.responses.get("checkin", {}).get("answered", 0),
    }


def report_tables(report: ProgrammeReport) -> dict[str, list[dict[str, Any]]]:
    """Every figure of the report as named tables of flat rows (CSV, JSON, Prefect artifacts)."""
    return {
        "summary": [report_summary(report)],
        "funnel": [{"state": s, "placements": n} for s, n in report.funnel.items()],
        "funnel_by_group": _rows(report.funnel_by_group),
        "lead_times": _rows(report.lead_times, drop=("days",)),
        "reminders": _rows(report.reminders),
        "rates": _rows(report.rates),
        "reasons": _rows(report.reasons),
        "money": _rows(report.money_by_placement),
        "hosts": _rows(report.hosts),
        "evaluation_scores": _rows(report.scores),
        "evaluation_yes_no": _rows(report.yes_no),
        "evaluation_options": _rows(report.options),
        "evaluation_texts": _rows(report.texts),
    }


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    return markdown_text(value)  # names and answers people typed: never markup


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "_none_\n"
    names = list(columns or rows[0].keys())
    lines = [
        "| " + " | ".join(_cell(n) for n in names) + " |",
        "|" + "|".join("---" for _ in names) + "|",
    ]
    lines += ["| " + " | ".join(_cell(row.get(n)) for n in names) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _pivot(report: ProgrammeReport, group: str) -> list[dict[str, Any]]:
    """One row per direction or host, one column per state that occurs, and the total."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in report.funnel_by_group:
        if row.group == group:
            counts[row.value][row.state] = row.placements
    states = [s for s in STATES if any(s in c for c in counts.values())]
    return [
        {group: value, **{s: c.get(s, 0) for s in states}, "total": sum(c.values())}
        for value, c in counts.items()
    ]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


CHART_TITLES: Mapping[str, str] = {
    "funnel": "Placements per state",
    "lead_times": "Lead-time distribution",
    "budget": "Budget use",
    "evaluation": "Evaluation scores",
}


def report_markdown(report: ProgrammeReport, *, charts: Mapping[str, str] | None = None) -> str:
    """The report for people; ``charts`` maps a chart name (see CHART_TITLES) to its file."""
    charts = charts or {}
    tables = report_tables(report)
    money = report.money

    def picture(name: str) -> str:
        return f"![{CHART_TITLES[name]}]({charts[name]})\n" if name in charts else ""

    def section(title: str, *body: str) -> str:
        return "\n\n".join([title, *[b.strip("\n") for b in body if b]]) + "\n\n"

    money_line = (
        f"Budget {_cell(money.budget_sek)} SEK; committed {_cell(money.committed_sek)} SEK "
        f"({_percent(money.committed_share)}); in the pipeline {_cell(money.pipeline_sek)} SEK; "
        f"released {_cell(money.released_sek)} SEK; "
        f"remaining {_cell(money.remaining_sek)} SEK.\n"
    )
    answered = (
        ", ".join(f"{kind} {c['answered']} of {c['asked']}" for kind, c in report.responses.items())
        or "none asked yet"
    )
    parts = [
        section(
            f"# Follow-up: {_cell(report.name)} ({_cell(report.programme)})",
            f"As of {report.as_of:%Y-%m-%d %H:%M %Z}: {report.placements} placements, "
            f"direction {_cell(report.direction)}.",
        ),
        section("## Funnel", picture("funnel"), markdown_table(tables["funnel"])),
        section("### Per direction", markdown_table(_pivot(report, "direction"))),
        section("### Per host organisation", markdown_table(_pivot(report, "host_organisation"))),
        section(
            "## Lead times (days)",
            picture("lead_times"),
            "From the first submission of the proposal to the last manager's approval, "
            "from there to the last party's acceptance of the agreement, and the whole way.\n",
            markdown_table(tables["lead_times"]),
        ),
        section("### Reminders and escalations it took", markdown_table(tables["reminders"])),
        section(
            "## Approval, decline and withdrawal rates",
            "Out of the placements submitted for approval.\n",
            markdown_table([{**r, "rate": _percent(r["rate"])} for r in tables["rates"]]),
        ),
        section("### Reasons given", markdown_table(tables["reasons"])),
        section("## Money", picture("budget"), money_line, markdown_table(tables["money"])),
        section(
            "## Network",
            f"{len(report.hosts)} host organisations: "
            f"{sum(not h.returning for h in report.hosts)} first-time, "
            f"{sum(h.returning for h in report.hosts)} returning (hosted in an earlier "
            "programme).\n",
            markdown_table(tables["hosts"]),
        ),
        section(
            "## Evaluation",
            picture("evaluation"),
            f"Answers: {answered}.\n",
            markdown_table(tables["evaluation_scores"]),
        ),
        section(
            "### Would do it again / recommend it", markdown_table(tables["evaluation_yes_no"])
        ),
        section("### What came of it", markdown_table(tables["evaluation_options"])),
        section("### In their own words", markdown_table(tables["evaluation_texts"])),
    ]
    return "".join(parts)


def table_columns(name: str) -> list[str]:
    """The columns of table ``name`` even when it has no rows (for CSV headers)."""
    row_types: Mapping[str, type] = {
        "funnel_by_group": CountRow,
        "lead_times": LeadTime,
        "reminders": ReminderRow,
        "rates": RateRow,
        "reasons": ReasonRow,
        "money": MoneyRow,
        "hosts": HostRow,
        "evaluation_scores": ScoreRow,
        "evaluation_yes_no": YesNoRow,
        "evaluation_options": OptionRow,
        "evaluation_texts": TextRow,
    }
    if name == "funnel":
        return ["state", "placements"]
    if name == "summary":
        return []
    return [f.name for f in fields(row_types[name]) if f.name != "days"]
