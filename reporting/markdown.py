"""The report for people, as Markdown: what people typed is text, never markup."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from models.text import markdown_text
from reporting.tables import report_tables
from states.followup.rows import ProgrammeReport
from states.lifecycle.machine import STATES


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


def _section(title: str, *body: str) -> str:
    return "\n\n".join([title, *[b.strip("\n") for b in body if b]]) + "\n\n"


def _money_line(report: ProgrammeReport) -> str:
    money = report.money
    return (
        f"Budget {_cell(money.budget_sek)} SEK; committed {_cell(money.committed_sek)} SEK "
        f"({_percent(money.committed_share)}); in the pipeline {_cell(money.pipeline_sek)} SEK; "
        f"released {_cell(money.released_sek)} SEK; "
        f"remaining {_cell(money.remaining_sek)} SEK.\n"
    )


def _answered(report: ProgrammeReport) -> str:
    return (
        ", ".join(f"{kind} {c['answered']} of {c['asked']}" for kind, c in report.responses.items())
        or "none asked yet"
    )


def report_markdown(report: ProgrammeReport, *, charts: Mapping[str, str] | None = None) -> str:
    """The report for people; ``charts`` maps a chart name (see CHART_TITLES) to its file."""
    charts = charts or {}
    tables = report_tables(report)

    def picture(name: str) -> str:
        return f"![{CHART_TITLES[name]}]({charts[name]})\n" if name in charts else ""

    def table(name: str) -> str:
        return markdown_table(tables[name])

    parts = [
        _section(
            f"# Follow-up: {_cell(report.name)} ({_cell(report.programme)})",
            f"As of {report.as_of:%Y-%m-%d %H:%M %Z}: {report.placements} placements, "
            f"direction {_cell(report.direction)}.",
        ),
        _section("## Funnel", picture("funnel"), table("funnel")),
        _section("### Per direction", markdown_table(_pivot(report, "direction"))),
        _section("### Per host organisation", markdown_table(_pivot(report, "host_organisation"))),
        _section(
            "## Lead times (days)",
            picture("lead_times"),
            "From the first submission of the proposal to the last manager's approval, "
            "from there to the last party's acceptance of the agreement, and the whole way.\n",
            table("lead_times"),
        ),
        _section("### Reminders and escalations it took", table("reminders")),
        _section(
            "## Approval, decline and withdrawal rates",
            "Out of the placements submitted for approval.\n",
            markdown_table([{**r, "rate": _percent(r["rate"])} for r in tables["rates"]]),
        ),
        _section("### Reasons given", table("reasons")),
        _section("## Money", picture("budget"), _money_line(report), table("money")),
        _section(
            "## Network",
            f"{len(report.hosts)} host organisations: {report.first_time_hosts} first-time, "
            f"{report.returning_hosts} returning (hosted in an earlier programme).\n",
            table("hosts"),
        ),
        _section(
            "## Evaluation",
            picture("evaluation"),
            f"Answers: {_answered(report)}.\n",
            table("evaluation_scores"),
        ),
        _section("### Would do it again / recommend it", table("evaluation_yes_no")),
        _section("### What came of it", table("evaluation_options")),
        _section("### In their own words", table("evaluation_texts")),
    ]
    return "".join(parts)
