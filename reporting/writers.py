"""The report as files: Markdown with its pictures, one CSV per table and an ``.xlsx`` with
every table, all in the programme's language; and one JSON with the product's own keys (for
programs, not people)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reporting.markdown import report_markdown
from reporting.spreadsheet import DIALECTS, ENCODING, LINE_END, csv_rows
from reporting.tables import PeopleTable, people_tables, plain, report_summary, report_tables
from reporting.texts import ReportTexts
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


def table_csv(table: PeopleTable, language: str) -> str:
    """One table as CSV for the spreadsheet of ``language``; no text cell can start a
    formula."""
    return csv_rows(table.headers, table.rows, DIALECTS.get(language, DIALECTS["en"]))


def report_csv(report: ProgrammeReport) -> str:
    """Every table in one text, each after a line with its name (for stdout)."""
    return LINE_END.join(
        f"# {table.title}{LINE_END}{table_csv(table, report.language)}"
        for table in people_tables(report, ReportTexts(report.language)).values()
    )


def write_report(
    report: ProgrammeReport, out: Path, *, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write the report into ``out``; returns the files written.

    md: ``report.md`` with the PNGs of ``charts/`` linked; csv: ``csv/<table>.csv`` (UTF-8
    with a byte-order mark, ``;`` and decimal commas for a Swedish programme) and
    ``report.xlsx`` beside them; json: ``report.json``.
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
        from reporting.workbook import write_workbook

        tables = people_tables(report, ReportTexts(report.language))
        folder = out / "csv"
        folder.mkdir(exist_ok=True)
        for name, table in tables.items():
            path = folder / f"{name}.csv"
            path.write_text(table_csv(table, report.language), encoding=ENCODING, newline="")
            written.append(path)
        written.append(write_workbook(tables.values(), out / "report.xlsx"))
    if "json" in formats:
        path = out / "report.json"
        path.write_text(report_json(report), encoding="utf-8")
        written.append(path)
    return written
