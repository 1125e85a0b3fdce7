"""Follow-up: the programme's report on a page, its charts as PNG images, and the files of
``mobility report`` to download. Every figure is ``states.followup``'s, every table, chart and
file ``reporting``'s: nothing is computed here.

The page is in the reader's language (the report's figures with their words); the downloads
are in the programme's, as ``mobility report`` writes them.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from reporting.charts import CHARTS
from reporting.markdown import answered_line, money_line, report_markdown
from reporting.spreadsheet import ENCODING
from reporting.tables import people_cell, people_tables
from reporting.texts import ReportTexts
from reporting.writers import report_json, table_csv
from states.followup.figures import build_report
from states.followup.rows import ProgrammeReport
from web.board.context import board_of
from web.board.guard import AllowedProgramme, SignedIn, not_found
from web.board.rendering import language_of, render

router = APIRouter()

REPORT = "/programmes/{programme}/report"

# The page's sections: heading (a report text), chart (reporting.charts.CHARTS), tables.
SECTIONS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("funnel", "funnel", ("funnel",)),
    ("lead_times", "lead_times", ("lead_times", "reminders")),
    ("rates", None, ("rates", "reasons")),
    ("money", "budget", ("money",)),
    ("network", None, ("hosts",)),
    (
        "evaluation",
        "evaluation",
        ("evaluation_scores", "evaluation_yes_no", "evaluation_options", "evaluation_texts"),
    ),
)
CHART_TITLES: Mapping[str, str] = {
    "funnel": "funnel",
    "lead_times": "lead_times_chart",
    "budget": "budget_chart",
    "evaluation": "evaluation_chart",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(request: Request, key: str, *, for_a_chart: bool = False) -> ProgrammeReport:
    """Built afresh; for a chart, the report its page was built from (``RecentReports``)."""
    board = board_of(request)
    reports = board.reports.recent if for_a_chart else board.reports.fresh
    return reports(key, lambda: build_report(board.app.reading(), programme=key))


def _for_reader(request: Request, report: ProgrammeReport) -> ProgrammeReport:
    """The same figures, their words in the reader's language."""
    return replace(report, language=language_of(request))


@router.get(REPORT)
def report_page(request: Request, access: AllowedProgramme, user: SignedIn) -> Response:
    report = _for_reader(request, _report(request, access.key))
    rt = ReportTexts(report.language)
    tables = people_tables(report, rt)
    csv_tables = [name for name in tables if name != "summary"]
    return render(
        request,
        "board/report.html",
        user=user,
        programme=access,
        report=report,
        rt=rt,
        sections=SECTIONS,
        tables=tables,
        csv_tables=csv_tables,
        chart_titles=CHART_TITLES,
        cell=lambda value, column: people_cell(value, column, rt),
        money=money_line(report, rt).strip(),
        answered=answered_line(report, rt).strip(),
    )


@router.get(REPORT + "/charts/{chart}.png")
def chart(request: Request, access: AllowedProgramme, chart: str) -> Response:
    draw = CHARTS.get(chart)
    if draw is None:
        raise not_found()
    picture = io.BytesIO()
    report = _report(request, access.key, for_a_chart=True)
    draw(_for_reader(request, report)).savefig(picture, format="png", dpi=100)
    return Response(picture.getvalue(), media_type="image/png")


def _xlsx(report: ProgrammeReport) -> bytes:
    from reporting.workbook import write_workbook

    with tempfile.TemporaryDirectory(prefix="mobility-report-") as folder:
        tables = people_tables(report, ReportTexts(report.language)).values()
        return write_workbook(tables, Path(folder) / "report.xlsx").read_bytes()


FILES: Mapping[str, tuple[str, Callable[[ProgrammeReport], bytes]]] = {
    "report.xlsx": (XLSX, _xlsx),
    "report.md": ("text/markdown; charset=utf-8", lambda r: report_markdown(r).encode()),
    "report.json": ("application/json", lambda r: report_json(r).encode()),
}


def _table_csv(report: ProgrammeReport, name: str) -> bytes | None:
    tables = people_tables(report, ReportTexts(report.language))
    if name not in tables:
        return None
    return table_csv(tables[name], report.language).encode(ENCODING)


@router.get(REPORT + "/download/{file}")
def download(request: Request, access: AllowedProgramme, file: str) -> Response:
    """A file of the report, in the programme's language: the workbook, Markdown, JSON, or
    one table as CSV (``<table>.csv``: UTF-8 with a byte-order mark, ``;`` for Swedish)."""
    report = _report(request, access.key)
    content: bytes | None
    if file in FILES:
        media_type, make = FILES[file]
        content = make(report)
    elif file.endswith(".csv"):
        media_type, content = "text/csv; charset=utf-8", _table_csv(report, file[:-4])
    else:
        content = None
    if content is None:
        raise not_found()
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{access.key}-{file}"'},
    )
