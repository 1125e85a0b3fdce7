"""The report for people, as Markdown in the programme's language: what people typed is text,
never markup; numbers, amounts, percentages and dates as Babel writes them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from models.text import markdown_text
from reporting.tables import PeopleTable, people_cell, people_tables
from reporting.texts import ReportTexts
from states.followup.rows import ProgrammeReport
from states.lifecycle.machine import STATES


def _cell(value: Any, column: str, t: ReportTexts) -> str:
    if isinstance(value, str):
        return markdown_text(value)  # names and answers people typed: never markup
    return people_cell(value, column, t)


def markdown_rows(
    headers: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[Any]], t: ReportTexts
) -> str:
    if not rows:
        return f"_{t('none')}_\n"
    lines = [
        "| " + " | ".join(markdown_text(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += [
        "| " + " | ".join(_cell(v, c, t) for v, c in zip(row, columns, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _table(table: PeopleTable, t: ReportTexts) -> str:
    return markdown_rows(table.headers, table.columns, table.rows, t)


def _pivot(report: ProgrammeReport, group: str, t: ReportTexts) -> str:
    """One row per direction or host, one column per state that occurs, and the total."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in report.funnel_by_group:
        if row.group == group:
            counts[row.value][row.state] = row.placements
    states = [s for s in STATES if any(s in c for c in counts.values())]
    columns = [group, *states, "total"]
    rows = [
        [t.value(group, value), *(c.get(s, 0) for s in states), sum(c.values())]
        for value, c in counts.items()
    ]
    return markdown_rows([t.column(c) for c in columns], columns, rows, t)


def _section(title: str, *body: str) -> str:
    return "\n\n".join([title, *[b.strip("\n") for b in body if b]]) + "\n\n"


def money_line(report: ProgrammeReport, t: ReportTexts) -> str:
    money = report.money
    return (
        t(
            "money_line",
            budget=t.amount(money.budget_sek),
            committed=t.amount(money.committed_sek),
            share=t.percent(money.committed_share),
            pipeline=t.amount(money.pipeline_sek),
            released=t.amount(money.released_sek),
            remaining=t.amount(money.remaining_sek),
        )
        + "\n"
    )


def answered_line(report: ProgrammeReport, t: ReportTexts) -> str:
    parts = [
        t("answered_of", kind=t.value("kind", kind), answered=c["answered"], asked=c["asked"])
        for kind, c in report.responses.items()
    ]
    return t("answered_line", answered=", ".join(parts) or t("none_asked")) + "\n"


def _heading(report: ProgrammeReport, t: ReportTexts) -> str:
    key = "as_of_then" if report.historical else "as_of_now"
    as_of = t(key, moment=t.moment(report.as_of), placements=t.number(report.placements))
    direction = f"{t.column('direction')}: {t.value('direction', report.direction)}."
    return _section(f"# {markdown_text(t('title', name=report.name))}", f"{as_of} {direction}")


def report_markdown(report: ProgrammeReport, *, charts: Mapping[str, str] | None = None) -> str:
    """The report for people; ``charts`` maps a chart name (``reporting.charts.CHARTS``) to
    its file."""
    charts = charts or {}
    t = ReportTexts(report.language)
    tables = people_tables(report, t)

    def picture(name: str, title: str) -> str:
        return f"![{markdown_text(title)}]({charts[name]})\n" if name in charts else ""

    def table(name: str) -> str:
        return _table(tables[name], t)

    def heading(level: int, key: str) -> str:
        return f"{'#' * level} {t(key)}"

    network = t(
        "network_line",
        hosts=len(report.hosts),
        first=report.first_time_hosts,
        returning=report.returning_hosts,
    )
    parts = [
        _heading(report, t),
        _section(heading(2, "funnel"), picture("funnel", t("funnel")), table("funnel")),
        _section(heading(3, "per_direction"), _pivot(report, "direction", t)),
        _section(heading(3, "per_host"), _pivot(report, "host_organisation", t)),
        _section(
            heading(2, "lead_times"),
            picture("lead_times", t("lead_times_chart")),
            t("lead_times_intro") + "\n",
            table("lead_times"),
        ),
        _section(heading(3, "reminders"), table("reminders")),
        _section(heading(2, "rates"), t("rates_intro") + "\n", table("rates")),
        _section(heading(3, "reasons"), table("reasons")),
        _section(
            heading(2, "money"),
            picture("budget", t("budget_chart")),
            money_line(report, t),
            table("money"),
        ),
        _section(heading(2, "network"), network + "\n", table("hosts")),
        _section(
            heading(2, "evaluation"),
            picture("evaluation", t("evaluation_chart")),
            answered_line(report, t),
            table("evaluation_scores"),
        ),
        _section(heading(3, "yes_no"), table("evaluation_yes_no")),
        _section(heading(3, "options"), table("evaluation_options")),
        _section(heading(3, "texts"), table("evaluation_texts")),
    ]
    return "".join(parts)
