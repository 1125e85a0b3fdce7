"""The report as files: Markdown with its pictures, one CSV per table, and one JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reporting.markdown import report_markdown
from reporting.spreadsheet import LINE_END, csv_text
from reporting.tables import plain, report_summary, report_tables, table_columns
from states.followup.rows import ProgrammeReport

FORMATS = ("md", "csv", "json")


def report_json(report: ProgrammeReport) -> str:
    data = {
        "summary": report_summary(report),
        "tables": {
            name: [{k: plain(v) for k, v in row.items()} for row in rows]
            for name, rows in report_tables(report).items()
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def table_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """One table as CSV; its text cells cannot start a spreadsheet formula."""
    return csv_text([{k: plain(v) for k, v in row.items()} for row in rows], columns)


def _columns(name: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else table_columns(name)


def report_csv(report: ProgrammeReport) -> str:
    """Every table in one text, each after a ``# name`` line (for stdout)."""
    return LINE_END.join(
        f"# {name}{LINE_END}{table_csv(rows, _columns(name, rows))}"
        for name, rows in report_tables(report).items()
    )


def write_report(
    report: ProgrammeReport, out: Path, *, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write the report into ``out``; returns the files written.

    md: ``report.md`` with the PNGs of ``charts/`` linked; csv: ``csv/<table>.csv``;
    json: ``report.json``.
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "md" in formats:
        from reporting.charts import write_charts

        charts = write_charts(report, out / "charts")
        written += charts.values()
        links = {name: path.relative_to(out).as_posix() for name, path in charts.items()}
        markdown = out / "report.md"
        markdown.write_text(report_markdown(report, charts=links), encoding="utf-8")
        written.append(markdown)
    if "csv" in formats:
        folder = out / "csv"
        folder.mkdir(exist_ok=True)
        for name, rows in report_tables(report).items():
            path = folder / f"{name}.csv"
            path.write_text(table_csv(rows, _columns(name, rows)), encoding="utf-8")
            written.append(path)
    if "json" in formats:
        path = out / "report.json"
        path.write_text(report_json(report), encoding="utf-8")
        written.append(path)
    return written
