"""Issue 12, follow-up on the board: the programme report on a page (figures, charts as PNG,
lead times, evaluation answers) in the reader's language, and the files of ``mobility report``
to download in the programme's (.xlsx, CSV with a BOM and ``;`` for Swedish, Markdown, JSON),
a formula cell neutralised; and the language a person chose, remembered."""

from __future__ import annotations

import codecs
import io
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

import web.board.routes_report as routes_report
from reporting.texts import ReportTexts
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from tests.board.support import JOHAN, PAUS, BoardServer, csrf_of, dev_sign_in, visible_text
from tests.conftest import EXAMPLES
from web.board.routes_report import SECTIONS

REPORT = f"/board/programmes/{PAUS}/report"
FORMULA_HOST = '=HYPERLINK("http://evil.example/x","Klicka")'


@pytest.fixture
def johan(dev_board: BoardServer) -> httpx.Client:
    """Johan, signed in, over paus-2027 with its two example proposals, one host a formula."""
    proposals = load_proposals(EXAMPLES / "proposals.csv")
    proposals[1] = proposals[1].model_copy(update={"host_organisation": FORMULA_HOST})
    register_proposals(
        dev_board.app.uow(),
        proposals=proposals,
        actor=JOHAN,
        via="cli",
        as_of=datetime(2026, 12, 1, 8, tzinfo=UTC),
    )
    client = dev_board.client()
    dev_sign_in(client, JOHAN)
    return client


def test_the_report_page_shows_the_figures_and_charts(johan: httpx.Client) -> None:
    page = johan.get(REPORT)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = visible_text(page.text)
    assert "Uppföljning: Personrörlighet ut 2027" in text
    rt = ReportTexts("sv")
    for heading, _, tables in SECTIONS:
        assert f'<h2 id="section-{heading}">{rt(heading)}</h2>' in page.text, heading
        for table in tables:
            assert f'<caption id="table-{table}">{rt.table(table)}</caption>' in page.text, table
    assert FORMULA_HOST in text  # shown as the text it is
    assert "Region Skåne" in text
    for chart in ("funnel", "lead_times", "budget", "evaluation"):
        assert f'src="{REPORT}/charts/{chart}.png"' in page.text
        image = johan.get(f"{REPORT}/charts/{chart}.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert johan.get(f"{REPORT}/charts/nothing.png").status_code == 404


def test_the_report_page_in_english_for_an_english_reader(johan: httpx.Client) -> None:
    page = johan.get(REPORT, headers={"accept-language": "en-GB,en;q=0.9"})
    text = visible_text(page.text)
    assert '<html lang="en">' in page.text
    assert "Follow-up: Personrörlighet ut 2027" in text and "Download the report" in text


def _download(client: httpx.Client, name: str) -> httpx.Response:
    answer = client.get(f"{REPORT}/download/{name}")
    assert answer.status_code == 200, (name, answer.status_code)
    disposition = answer.headers["content-disposition"]
    assert disposition == f'attachment; filename="{PAUS}-{name}"'
    return answer


def test_the_downloads_are_the_reports_files_in_the_programmes_language(
    johan: httpx.Client,
) -> None:
    english = {"accept-language": "en"}  # the reader's language does not change the files
    johan.headers.update(english)
    workbook = _download(johan, "report.xlsx")
    assert workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheets = load_workbook(io.BytesIO(workbook.content))
    cells = [c for sheet in sheets.worksheets for row in sheet.iter_rows() for c in row]
    formula = [c for c in cells if c.value == FORMULA_HOST]
    assert formula and all(c.data_type == "s" for c in formula), "a host became a formula"
    assert "Medel" in sheets.sheetnames  # Swedish, as the programme is

    money = _download(johan, "money.csv")
    assert money.headers["content-type"] == "text/csv; charset=utf-8"
    assert money.content.startswith(codecs.BOM_UTF8)
    text = money.content.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert ";" in header and "," not in header
    assert "'" + FORMULA_HOST.replace('"', '""') in text  # neutralised, then CSV-quoted

    markdown = _download(johan, "report.md")
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.text.startswith("# Uppföljning: Personrörlighet ut 2027")

    data = json.loads(_download(johan, "report.json").content)
    assert data["summary"]["programme"] == PAUS and data["summary"]["placements"] == 2

    for missing in ("report.exe", "nothing.csv", "..%2Fsecret.csv"):
        assert johan.get(f"{REPORT}/download/{missing}").status_code == 404


def test_the_language_a_person_chose_is_remembered(dev_board: BoardServer) -> None:
    with dev_board.client(headers={"accept-language": "sv-SE,sv;q=0.9"}) as client:
        dev_sign_in(client, JOHAN)
        intake = f"/board/programmes/{PAUS}/intake"
        assert "Lägg till förslag" in visible_text(client.get(intake).text)
        token = csrf_of(client.get(intake).text)
        refused = client.post(
            "/board/language", data={"csrf": "wrong", "language": "en", "next": intake}
        )
        assert refused.status_code == 403 and "board_language" not in client.cookies
        chosen = client.post(
            "/board/language", data={"csrf": token, "language": "en", "next": intake}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == intake
        for path in (intake, REPORT, "/board/"):
            page = client.get(path)
            assert '<html lang="en">' in page.text, path  # the choice over Accept-Language
        assert "Add proposals" in visible_text(client.get(intake).text)
    with dev_board.client(headers={"accept-language": "en"}) as newcomer:
        dev_sign_in(newcomer, JOHAN)
        assert "Add proposals" in visible_text(newcomer.get(intake).text)


def test_the_evaluation_answers_and_lead_times_are_on_the_page(dev_board: BoardServer) -> None:
    from tests.board.support import AFFILIATION, SARA
    from tests.evaluation_forms import submit_evaluation
    from tests.test_evaluation_validation import ENDED, GOOD, in_evaluation

    app = dev_board.app
    reference = in_evaluation(app)
    submit_evaluation(
        app.uow(),
        reference=reference,
        role="participant",
        form=GOOD,
        actor="daniel",
        via="link",
        as_of=ENDED,
    )
    with dev_board.client() as sara:
        dev_sign_in(sara, SARA)
        page = sara.get(f"/board/programmes/{AFFILIATION}/report")
        assert page.status_code == 200
        text = visible_text(page.text)
    rt = ReportTexts("sv")
    evaluation = text.split(rt("evaluation"), 1)[1]
    assert "A new course module." in evaluation  # the participant's own words
    assert rt.table("evaluation_scores") in evaluation and "4" in evaluation
    lead_times = text.split(rt.table("lead_times"), 1)[1]
    assert rt.value("stage", "proposal_to_approvals") in lead_times


# --- one build per view: the page and its charts (web.board.recent) ---------------------------

BUILT_CHARTS = ("funnel", "lead_times", "budget", "evaluation")


@pytest.fixture
def report_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The programme of every report the board builds, in order."""
    builds: list[str] = []
    build = routes_report.build_report

    def counted(*args: Any, **kwargs: Any) -> Any:
        builds.append(kwargs["programme"])
        return build(*args, **kwargs)

    monkeypatch.setattr(routes_report, "build_report", counted)
    return builds


def test_a_report_page_and_its_charts_build_the_report_once(
    johan: httpx.Client, report_builds: list[str]
) -> None:
    assert johan.get(REPORT).status_code == 200
    for chart in BUILT_CHARTS:
        assert johan.get(f"{REPORT}/charts/{chart}.png").status_code == 200
    assert len(report_builds) == 1
    assert johan.get(REPORT).status_code == 200  # a reload shows what is there now
    assert len(report_builds) == 2


def test_a_chart_without_a_recent_page_builds_its_own(
    johan: httpx.Client, report_builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.board.recent.KEEP_SECONDS", 0.0)
    assert johan.get(REPORT).status_code == 200
    assert johan.get(f"{REPORT}/charts/funnel.png").status_code == 200
    assert len(report_builds) == 2
