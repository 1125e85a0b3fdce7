"""The report as named tables of flat rows: for CSV, JSON and Prefect table artifacts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from reporting.texts import ReportTexts
from states.followup.answers import rounded
from states.followup.rows import (
    CountRow,
    HostRow,
    LeadTime,
    MoneyRow,
    OptionRow,
    ProgrammeReport,
    RateRow,
    ReasonRow,
    ReminderRow,
    ScoreRow,
    TextRow,
    YesNoRow,
)


def plain(value: Any) -> Any:
    """Dates as ISO text: the tables go to CSV, JSON and Prefect table artifacts as they are."""
    return value.isoformat() if isinstance(value, date | datetime) else value


def _rows(items: Iterable[Any], *, drop: Sequence[str] = ()) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in asdict(item).items() if k not in drop} for item in items]


def report_summary(report: ProgrammeReport) -> dict[str, Any]:
    money = report.money
    return {
        "programme": report.programme,
        "name": report.name,
        "direction": report.direction,
        "language": report.language,
        "as_of": report.as_of.isoformat(),
        "placements": report.placements,
        "budget_sek": money.budget_sek,
        "committed_sek": money.committed_sek,
        "pipeline_sek": money.pipeline_sek,
        "released_sek": money.released_sek,
        "remaining_sek": money.remaining_sek,
        "committed_share": rounded(money.committed_share),
        "host_organisations": len(report.hosts),
        "returning_hosts": report.returning_hosts,
        "first_time_hosts": report.first_time_hosts,
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


# Columns that name the product's keys where a label beside them says it for people.
KEY_COLUMNS = frozenset({"question", "option"})


@dataclass(frozen=True)
class PeopleTable:
    """A table as people read it: headers and values in the report's language; numbers and
    dates stay numbers and dates, for each medium to write as its readers expect."""

    name: str
    title: str
    columns: tuple[str, ...]
    """The row keys, for the medium's own formatting (``rate`` is a share, …)."""
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def people_tables(report: ProgrammeReport, texts: ReportTexts) -> dict[str, PeopleTable]:
    """Every table of ``report_tables`` in the report's language."""
    tables = {}
    for name, rows in report_tables(report).items():
        columns = tuple(
            c for c in (list(rows[0]) if rows else table_columns(name)) if c not in KEY_COLUMNS
        )
        tables[name] = PeopleTable(
            name=name,
            title=texts.table(name),
            columns=columns,
            headers=tuple(texts.column(c) for c in columns),
            rows=tuple(
                tuple(texts.value(c, _typed(c, row.get(c))) for c in columns) for row in rows
            ),
        )
    return tables


# Columns whose numbers are shares (0–1), written as percentages.
SHARES = frozenset({"rate", "committed_share"})


def people_cell(value: Any, column: str, t: ReportTexts) -> str:
    """A cell of a ``PeopleTable`` as people read it on a page: numbers, shares and dates as
    Babel writes them in ``t``'s language, nothing as a dash; text unchanged (each medium
    escapes it its own way)."""
    if value is None:
        return "–"
    if isinstance(value, float) and column in SHARES:
        return t.percent(value)
    if isinstance(value, float):
        return t.number(value, decimals=2)
    if isinstance(value, int):
        return t.number(value)
    if isinstance(value, date):
        return t.day(value)
    return str(value)


DATE_COLUMNS = frozenset({"on", "first_start"})


def _typed(column: str, value: Any) -> Any:
    """Dates back from their ISO text (the tables keep them as text for JSON)."""
    if column in DATE_COLUMNS and isinstance(value, str):
        return date.fromisoformat(value)
    return value
