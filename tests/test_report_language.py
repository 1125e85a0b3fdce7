"""The report in the programme's language (issue 11, "The words", the report bullets; Done
means 4): Markdown, charts and CSV headers in Swedish for a Swedish programme and in English
for an English one, with the glossary's words, numbers by Babel; CSVs a Swedish Excel opens
(UTF-8 with a BOM, ";" and decimal commas) read back with ``csv``; an ``.xlsx`` beside them;
charts whose text elements are the glossary's words, whole numbers on count axes, the
programme in every title, and "no data" said instead of empty axes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from models import Programme
from reporting.charts import CHARTS
from reporting.markdown import report_markdown
from reporting.writers import write_report
from states.bootstrap import App
from states.followup.figures import build_report
from states.followup.rows import ProgrammeReport
from states.glossary import words
from tests.test_report_as_of import PROGRAMME, walk

ENGLISH_ONLY = ("Placements per state", "Lead times", "Host organisation", "Follow-up")
SWEDISH_ONLY = ("Placeringar per läge", "Ledtider", "Värdorganisation", "Uppföljning")
INTERNAL = ("manager_approval", "value_home", "host_contact", "proposal_to_agreement", "_sek")


def _report(app: App, language: str) -> ProgrammeReport:
    walk(app)
    with app.uow() as uow:
        uow.session.execute(update(Programme).values(language=language, budget_sek=2_400_000))
        uow.commit()
    return build_report(app.reading(), programme=PROGRAMME)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_markdown_is_in_the_programmes_language(app: App, language: str) -> None:
    markdown = report_markdown(_report(app, language))
    own, other = (SWEDISH_ONLY, ENGLISH_ONLY) if language == "sv" else (ENGLISH_ONLY, SWEDISH_ONLY)
    assert all(text in markdown for text in own)
    assert not any(text in markdown for text in other)
    assert not any(key in markdown for key in INTERNAL)
    glossary = words(language)
    assert f"| {glossary.state_title('evaluation')} | 1 |" in markdown
    if language == "sv":
        assert "Budget 2\u00a0400\u00a0000\u00a0kr" in markdown  # Babel's sv: "2 400 000 kr"
        assert "bundet 120\u00a0000\u00a0kr (5\u00a0%)" in markdown
        assert "13,04" in markdown
    else:
        assert "Budget SEK\u00a02,400,000" in markdown  # "SEK 2,400,000"
        assert "committed SEK\u00a0120,000 (5%)" in markdown
        assert "13.04" in markdown


def _read_csv(path: Path, delimiter: str) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), path.name  # the BOM: Excel reads it as UTF-8
    text = raw.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_a_swedish_programmes_csv_opens_in_a_swedish_excel(app: App, tmp_path: Path) -> None:
    report = _report(app, "sv")
    write_report(report, tmp_path, formats=("csv",))
    funnel = _read_csv(tmp_path / "csv" / "funnel.csv", ";")
    assert funnel[0] == ["Läge", "Placeringar"]
    assert ["Under utvärdering", "1"] in funnel
    lead = _read_csv(tmp_path / "csv" / "lead_times.csv", ";")
    assert lead[0] == ["Steg", "Placeringar", "Median (dagar)", "90:e percentilen (dagar)"]
    assert lead[3] == ["Från förslag till avtal", "1", "13,04", "13,04"]  # decimal comma
    money = _read_csv(tmp_path / "csv" / "money.csv", ";")
    assert money[0][-2:] == ["Finansiering (kr)", "Medel"]
    assert money[1][-2:] == ["120000", "Bundet"]  # a number Excel reads as one
    summary = dict(zip(*_read_csv(tmp_path / "csv" / "summary.csv", ";"), strict=True))
    assert summary["Andel bundet"] == "0,05"
    # the same file read as English CSV is one column: it is not
    assert len(next(csv.reader(io.StringIO("Läge;Placeringar")))) == 1


def test_an_english_programmes_csv_is_comma_separated(app: App, tmp_path: Path) -> None:
    write_report(_report(app, "en"), tmp_path, formats=("csv",))
    lead = _read_csv(tmp_path / "csv" / "lead_times.csv", ",")
    assert lead[0] == ["Stage", "Placements", "Median (days)", "90th percentile (days)"]
    assert lead[3] == ["From proposal to agreement", "1", "13.04", "13.04"]


def test_the_workbook_beside_the_csvs_holds_every_table_in_the_language(
    app: App, tmp_path: Path
) -> None:
    written = write_report(_report(app, "sv"), tmp_path, formats=("csv",))
    assert tmp_path / "report.xlsx" in written
    book = load_workbook(tmp_path / "report.xlsx")
    assert "Ledtider" in book.sheetnames and "Per läge" in book.sheetnames
    sheet = book["Ledtider"]
    assert [c.value for c in sheet[1]] == [
        "Steg",
        "Placeringar",
        "Median (dagar)",
        "90:e percentilen (dagar)",
    ]
    assert [c.value for c in sheet[4]] == ["Från förslag till avtal", 1, 13.04, 13.04]
    assert book["Medel"]["E2"].value == 120_000  # a number, not text


def _texts(figure: object) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    FigureCanvasAgg(figure).draw()  # type: ignore[arg-type]  (tick labels are set when drawn)
    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_chart_speaks_the_glossary_and_names_its_programme(app: App, language: str) -> None:
    report = _report(app, language)
    glossary = words(language)
    drawn = {name: _texts(draw(report)) for name, draw in CHARTS.items()}
    for name, texts in drawn.items():
        assert any(report.name in t and t.endswith(report.name) for t in texts), name
        assert not any(key in t for t in texts for key in INTERNAL), (name, texts)
    assert {glossary.state_title(s) for s in report.funnel} <= set(drawn["funnel"])
    assert glossary.role_title("participant") in drawn["evaluation"]
    amount = "120\u00a0000\u00a0kr" if language == "sv" else "SEK\u00a0120,000"
    assert any(amount in t for t in drawn["budget"]), drawn["budget"]


def test_count_axes_have_whole_numbers_and_empty_charts_say_so(app: App) -> None:
    report = _report(app, "sv")
    funnel = CHARTS["funnel"](report)
    _texts(funnel)
    (axes,) = funnel.axes
    ticks = [t.get_text() for t in axes.get_xticklabels() if t.get_text()]
    assert ticks and all(t.isdigit() for t in ticks), ticks
    assert all(float(x).is_integer() for x in axes.get_xticks())  # 0, 1: no 0.2, 0.4
    from dataclasses import replace

    empty = replace(
        report,
        placements=0,
        funnel=dict.fromkeys(report.funnel, 0),
        lead_times=tuple(replace(t, days=()) for t in report.lead_times),
        scores=(),
        money=replace(report.money, budget_sek=0, committed_sek=0, pipeline_sek=0),
    )
    messages = {
        "funnel": "Inga placeringar ännu",
        "lead_times": "Ingen placering har passerat ett steg ännu",
        "budget": "Ingen budget och inga medel ännu",
        "evaluation": "Ingen utvärdering besvarad ännu",
    }
    for name, draw in CHARTS.items():
        figure = draw(empty)
        assert messages[name] in _texts(figure), name
        assert all(not a.axison for a in figure.axes), name  # no empty axes drawn
