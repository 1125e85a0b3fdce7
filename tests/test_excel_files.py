"""Issue 9, item 7: proposal files as Excel writes them on a Swedish computer.

"CSV (semikolonavgränsad)" has ``;`` between the columns; "CSV UTF-8" a byte-order mark;
plain "CSV" is Windows-1252; "Unicode-text" is tab-separated UTF-16. Each registers with its
å, ä and ö right; a file whose separator cannot be told is one clear line, and nothing is
created.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from states.bootstrap import App
from states.errors import InvalidInput
from states.intake.input_files import load_proposals
from states.intake.text_files import sniff_separator, text_encoding
from tests.cli_runner import Run, app_cli, counts  # noqa: F401  (fixture)
from tests.conftest import EXAMPLES, load_examples
from tests.test_cli import assert_short_error

SWEDISH_ROWS = [
    {
        "participant_name": "Åsa Öberg",
        "home_organisation": "Institutionen för miljövetenskap",
        "host_organisation": "Region Skåne",
        "host_contact_name": "Lena Ström",
        # A cell holding the separator and a line break, as Excel quotes it.
        "purpose": "Översvämningsdata; riskanalys\noch en kurs i Malmö",
    },
    {
        "participant_name": "Jörgen Ärlig",
        "home_organisation": "Institutionen för datavetenskap",
        "host_organisation": "Tåg i Tid AB",
        "host_contact_name": "Oskar Lund",
        "purpose": "Schemaläggning, tidtabeller",
    },
]


def _example_rows() -> list[dict[str, str]]:
    text = (EXAMPLES / "proposals.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    return [{**row, **swedish} for row, swedish in zip(rows, SWEDISH_ROWS, strict=True)]


def excel_file(
    path: Path,
    *,
    delimiter: str,
    encoding: str,
    line_end: str = "\r\n",
    trailing_blank_rows: int = 0,
    preamble: str = "",
) -> Path:
    """The example proposals with Swedish names, written as Excel writes them."""
    rows = _example_rows()
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator=line_end
    )
    writer.writeheader()
    writer.writerows(rows)
    for _ in range(trailing_blank_rows):  # a formatted but empty range: ;;;;;;
        buffer.write(delimiter * (len(rows[0]) - 1) + line_end)
    path.write_bytes((preamble + buffer.getvalue()).encode(encoding))
    return path


def xlsx_file(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    """The example proposals with Swedish names as an Excel workbook: dates as dates and
    numbers as numbers, as a coordinator's own sheet holds them."""
    import xlsxwriter

    rows = _example_rows() if rows is None else rows
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = workbook.add_worksheet("Förslag")
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for column, name in enumerate(rows[0]):
        sheet.write_string(0, column, name)
    for number, row in enumerate(rows, start=1):
        for column, (name, value) in enumerate(row.items()):
            if name in ("start", "end") and value:
                sheet.write_datetime(number, column, datetime.fromisoformat(value), day)
            elif value.isdigit():
                sheet.write_number(number, column, int(value))
            else:
                sheet.write_string(number, column, value)
    sheet.write_string(len(rows) + 3, 0, "")  # a formatted but empty cell below the rows
    workbook.close()
    return path


def _names(path: Path) -> list[tuple[str, str, str]]:
    return [(p.participant.name, p.host_organisation, p.purpose) for p in load_proposals(path)]


EXPECTED = [(r["participant_name"], r["host_organisation"], r["purpose"]) for r in SWEDISH_ROWS]


@pytest.mark.parametrize(
    ("name", "delimiter", "encoding", "encoding_found"),
    [
        ("excel-semicolon-bom.csv", ";", "utf-8-sig", "utf-8-sig"),
        ("excel-semicolon-ansi.csv", ";", "cp1252", "cp1252"),
        ("excel-comma-utf8.csv", ",", "utf-8", "utf-8-sig"),
        ("excel-tab.tsv", "\t", "utf-8", "utf-8-sig"),
        ("excel-unicode-text.txt", "\t", "utf-16", "utf-16"),
    ],
)
def test_excel_files_load_with_their_swedish_letters(
    tmp_path: Path, name: str, delimiter: str, encoding: str, encoding_found: str
) -> None:
    path = excel_file(tmp_path / name, delimiter=delimiter, encoding=encoding)
    assert text_encoding(path) == encoding_found
    assert _names(path) == EXPECTED


def test_an_xlsx_workbook_holds_the_same_proposals_as_its_csv(tmp_path: Path) -> None:
    workbook = xlsx_file(tmp_path / "förslag.xlsx")
    csv_file = excel_file(tmp_path / "förslag.csv", delimiter=";", encoding="utf-8-sig")
    assert load_proposals(workbook) == load_proposals(csv_file)
    assert _names(workbook) == EXPECTED


def test_an_xlsx_workbook_that_unpacks_too_large_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from states.intake import workbooks

    monkeypatch.setattr(workbooks, "UNPACKED_LIMIT", 2**20)
    assert load_proposals(xlsx_file(tmp_path / "p.xlsx"))
    bomb = xlsx_file(tmp_path / "bomb.xlsx", _example_rows() * 2000)
    assert bomb.stat().st_size < 2**20 / 2  # little on disk, much unpacked
    with pytest.raises(InvalidInput) as invalid:
        load_proposals(bomb)
    assert [e.message for e in invalid.value.errors] == ["unpacks to more than 1 MB"]


def test_an_xlsx_workbook_is_validated_as_its_csv_is(tmp_path: Path) -> None:
    rows = _example_rows()
    rows[1] = {**rows[1], "participant_email": "not an email", "extent_percent": "120"}
    with pytest.raises(InvalidInput) as invalid:
        load_proposals(xlsx_file(tmp_path / "bad.xlsx", rows))
    fields = {(e.row, e.field) for e in invalid.value.errors}
    assert fields == {(2, "participant_email"), (2, "extent_percent")}


def test_the_excel_file_has_the_bytes_excel_writes(tmp_path: Path) -> None:
    """What the test above calls an Excel file: BOM, semicolons, CRLF; cp1252 one byte per
    letter."""
    bom = excel_file(tmp_path / "a.csv", delimiter=";", encoding="utf-8-sig").read_bytes()
    assert bom.startswith(codecs.BOM_UTF8 + b"programme;participant_name;")
    assert bom.count(b"\r\n") >= 3
    ansi = excel_file(tmp_path / "b.csv", delimiter=";", encoding="cp1252").read_bytes()
    assert b"\xc5sa \xd6berg" in ansi  # Å and Ö in Windows-1252


def test_blank_rows_and_a_sep_line_are_no_proposals(tmp_path: Path) -> None:
    path = excel_file(
        tmp_path / "p.csv",
        delimiter=";",
        encoding="utf-8-sig",
        trailing_blank_rows=3,
        preamble="sep=;\r\n",
    )
    assert _names(path) == EXPECTED


def test_lf_line_ends_and_no_bom_work_too(tmp_path: Path) -> None:
    path = excel_file(tmp_path / "p.csv", delimiter=";", encoding="utf-8", line_end="\n")
    assert _names(path) == EXPECTED


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("programme;participant_name,participant_email", "a comma and a semicolon"),
        ("programme\tparticipant_name;participant_email", "a semicolon and a tab"),
        ("programme participant_name participant_email", "no comma, semicolon or tab"),
    ],
)
def test_a_separator_that_cannot_be_told_is_one_clear_line(header: str, words: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        sniff_separator(header + "\r\n", source="p.csv")
    [error] = invalid.value.errors
    assert words in error.message
    assert error.message.startswith("cannot tell the column separator from the header line")


def test_separators_inside_quoted_column_names_do_not_count() -> None:
    assert sniff_separator('"programme";"participant, name"\r\n', source="p.csv") == ";"


def test_registering_excel_files_through_the_command(
    app_cli: Callable[..., Run],  # noqa: F811
    any_app: App,
    tmp_path: Path,
) -> None:
    load_examples(any_app)
    ansi = excel_file(tmp_path / "ansi.csv", delimiter=";", encoding="cp1252")
    run = app_cli("propose", str(ansi), "--json")
    assert run.code == 0, run
    assert [r["created"] for r in run.json()] == [True, True]  # type: ignore[attr-defined]
    shown = app_cli("show", run.json()[0]["reference"])  # type: ignore[index]
    assert "Åsa Öberg" in shown.out and "Region Skåne" in shown.out
    # The same rows from the UTF-8 file with a BOM are the same proposals.
    bom = excel_file(tmp_path / "bom.csv", delimiter=";", encoding="utf-8-sig")
    again = app_cli("propose", str(bom))
    assert again.code == 0, again
    assert again.out.count("(already registered)") == 2
    # And from the workbook the coordinator keeps them in.
    workbook = app_cli("propose", str(xlsx_file(tmp_path / "förslag.xlsx")))
    assert workbook.code == 0, workbook
    assert workbook.out.count("(already registered)") == 2


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("mixed.csv", b"programme;participant_name,participant_email\r\n", "cannot tell"),
        ("one-column.csv", b"programme\r\npaus-2027\r\n", "cannot tell"),
        ("binary.csv", b"programme;name\r\n\x81\x8d\xff\r\n", "neither UTF-8 nor Windows-1252"),
        ("workbook.xlsx", b"PK\x03\x04" + bytes(100), "cannot be read as an .xlsx workbook"),
        ("workbook.ods", b"PK\x03\x04" + bytes(100), "save it as CSV"),
        ("zipped.csv", b"PK\x03\x04" + bytes(100), "spreadsheet workbook"),
        ("huge-cell.csv", b"programme;purpose\r\np;" + b"x" * 200_000, "cannot be read as CSV"),
    ],
)
def test_a_refused_file_is_one_line_and_creates_nothing(
    app_cli: Callable[..., Run],  # noqa: F811
    any_app: App,
    tmp_path: Path,
    name: str,
    content: bytes,
    words: str,
) -> None:
    load_examples(any_app)
    before = counts(any_app)
    path = tmp_path / name
    path.write_bytes(content)
    run = app_cli("propose", str(path))
    assert run.code == 2
    assert_short_error(run, words)
    assert len(run.err.strip().splitlines()) == 2  # "<file>: 1 error, nothing was created" + why
    assert counts(any_app) == before
