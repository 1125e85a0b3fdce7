"""Issue 9, item 3: no CSV the product writes can start a spreadsheet formula (OWASP CSV
injection), and the numbers the product writes stay numbers.

The CSVs the product writes are the report's tables: ``mobility report --format csv`` (all of
them on stdout) and ``mobility report --out DIR`` (``csv/<table>.csv``). Both go through
``reporting.spreadsheet.csv_text``; the last test keeps it the only CSV writer.
"""

from __future__ import annotations

import csv
import io
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reporting.spreadsheet import FORMULA_TRIGGERS, spreadsheet_cell
from reporting.tables import report_tables
from reporting.writers import report_csv, write_report
from states.followup.rows import Money, ProgrammeReport
from states.lifecycle.transitions import apply_event
from tests.cli_runner import Run
from tests.conftest import EXAMPLES
from tests.test_cli import cli, loaded  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("cli", "config", "flows", "models", "notifications", "reporting", "states", "web")

HOSTILE = (
    '=HYPERLINK("http://evil.example/x","Klicka")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+46 70 123 45 67",
    "-2+3 AB",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    '＝HYPERLINK("http://evil.example/y")',
    "  =cmd|' /C notepad'!A0",
)


def _starts_a_formula(cell: str) -> bool:
    start = cell.lstrip(" \u00a0")
    return bool(start) and start[0] in FORMULA_TRIGGERS


def _is_number(cell: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", cell) is not None


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_cell_that_would_start_a_formula_is_text(payload: str) -> None:
    assert spreadsheet_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", [0, 17, -250_000, -1.5, 0.25, None, True])
def test_numbers_and_empty_cells_stay_what_they_are(value: object) -> None:
    assert spreadsheet_cell(value) is value


@pytest.mark.parametrize("text", ["Region Skåne", "2027-03-01", "", "a = b", "e-post", "'quoted"])
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert spreadsheet_cell(text) == text


# --- every table, every text field ---------------------------------------------------------


def _hostile_values() -> Iterator[str]:
    while True:
        yield from HOSTILE


def _hostile(row_type: type[Any], texts: Iterator[str]) -> Any:
    """A row of ``row_type`` whose every text field is hostile and whose numbers are negative
    (a remaining budget can be): the numbers must come out as numbers."""
    hints = typing.get_type_hints(row_type)
    values: dict[str, Any] = {}
    for item in fields(row_type):
        hint = str(hints[item.name])
        if "tuple" in hint:
            values[item.name] = (1.0, 2.0)
        elif "str" in hint:
            values[item.name] = next(texts)
        elif "float" in hint:
            values[item.name] = -1.5
        elif "bool" in hint:
            values[item.name] = True
        elif "int" in hint:
            values[item.name] = -7
        elif "date" in hint:
            values[item.name] = date(2027, 3, 1)
        else:
            raise AssertionError(f"{row_type.__name__}.{item.name}: {hint} not covered")
    return row_type(**values)


@pytest.fixture
def hostile_report() -> ProgrammeReport:
    texts = _hostile_values()
    hints = typing.get_type_hints(ProgrammeReport)
    rows: dict[str, Any] = {}
    for item in fields(ProgrammeReport):
        inner = typing.get_args(hints[item.name])
        if inner and is_dataclass(inner[0]):  # tuple[RowType, ...]
            rows[item.name] = tuple(_hostile(inner[0], texts) for _ in range(len(HOSTILE)))
    return ProgrammeReport(
        programme="hostile-2027",
        name=HOSTILE[0],
        direction="both",
        language="en",
        as_of=datetime(2027, 6, 1, 8, tzinfo=UTC),
        historical=False,
        placements=3,
        funnel={"proposal": 3},
        money=Money(budget_sek=100, committed_sek=350, pipeline_sek=0, released_sek=0),
        responses={"evaluation": {"asked": 3, "answered": 1}},
        **rows,
    )


def _cells(text: str, delimiter: str = ",") -> list[str]:
    return [
        cell
        for row in csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter)
        for cell in row
    ]


def _assert_safe(text: str, where: str, delimiter: str = ",") -> list[str]:
    cells = _cells(text, delimiter)
    for cell in cells:
        assert not _starts_a_formula(cell) or _is_number(cell), f"{where}: {cell!r}"
    return cells


def test_every_csv_of_the_report_neutralises_every_text_field(
    hostile_report: ProgrammeReport, tmp_path: Path
) -> None:
    written = write_report(hostile_report, tmp_path, formats=("csv",))
    tables = report_tables(hostile_report)
    files = [p for p in written if p.suffix == ".csv"]
    assert sorted(p.stem for p in files) == sorted(tables)
    seen: list[str] = []
    for path in files:
        seen += _assert_safe(path.read_bytes().decode("utf-8-sig"), path.name)
    # the workbook beside them: every hostile text is a text cell, none is a formula
    from openpyxl import load_workbook

    (workbook,) = (p for p in written if p.suffix == ".xlsx")
    cells = [c for sheet in load_workbook(workbook) for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    # (a CR is stored as Excel writes it, _x000D_, which openpyxl leaves as it is)
    texts = {c.value.replace("_x000D_", "\r") for c in cells if c.data_type == "s"}
    assert set(HOSTILE) <= texts
    stdout = report_csv(hostile_report)
    stdout_cells = _assert_safe(stdout, "report --format csv")
    # The hostile texts did reach the files, as text; every payload, in files and on stdout.
    for payload in HOSTILE:
        assert "'" + payload in seen, payload
        assert "'" + payload in stdout_cells, payload
    # Numbers the product writes stay numbers, negative ones included.
    assert "-7" in seen and "-1.5" in seen and "-250" in seen  # remaining_sek = 100 - 350


def test_every_text_field_of_every_table_was_hostile(hostile_report: ProgrammeReport) -> None:
    """The test above covers what it claims: no text column of any table is left ordinary
    (but the summary's and the funnel's, which name the programme and the machine's states)."""
    tables = report_tables(hostile_report)
    assert tables["summary"][0]["name"] in HOSTILE
    for name, rows in tables.items():
        if name in ("summary", "funnel"):
            continue
        for column, value in rows[0].items():
            if isinstance(value, str) and column not in ("on", "first_start"):
                assert value in HOSTILE, (name, column, value)


# --- the command line, from hostile input files to the CSV the coordinator opens ----------


@pytest.fixture
def hostile_programme(loaded: Callable[..., Run], tmp_path: Path) -> Callable[..., Run]:  # noqa: F811
    data = yaml.safe_load((EXAMPLES / "programme-paus.yaml").read_text(encoding="utf-8"))
    data["name"] = HOSTILE[0]
    programme_file = tmp_path / "programme.yaml"
    programme_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert loaded("programme", "add", str(programme_file)).code == 0
    rows = list(csv.DictReader(io.StringIO((EXAMPLES / "proposals.csv").read_text("utf-8"))))
    rows[0]["host_organisation"] = HOSTILE[1]
    rows[1]["host_organisation"] = HOSTILE[3]
    proposals = tmp_path / "hostile.csv"
    with proposals.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run = loaded("propose", str(proposals))
    assert run.code == 0, run
    first, second = (line.split()[0] for line in run.out.splitlines())
    assert loaded("withdraw", first, "--reason", HOSTILE[2]).code == 0
    from cli.common import get_app

    apply_event(
        get_app().uow(),
        reference=second,
        event="decline",
        role="home_manager",
        actor="per.nilsson@univ.example",
        via="link",
        comment=HOSTILE[8],
    )
    return loaded


def test_report_csv_on_stdout_and_in_files_is_neutralised(
    hostile_programme: Callable[..., Run], tmp_path: Path
) -> None:
    stdout = hostile_programme("report", "paus-2027", "--format", "csv")
    assert stdout.code == 0, stdout
    out = tmp_path / "report"
    files = hostile_programme("report", "paus-2027", "--out", str(out), "--format", "csv")
    assert files.code == 0, files
    texts = {"stdout": stdout.out} | {
        p.name: p.read_bytes().decode("utf-8-sig") for p in sorted((out / "csv").glob("*.csv"))
    }
    # paus-2027 is a Swedish programme: its CSVs are for a Swedish Excel, ";" between cells
    cells = [cell for where, text in texts.items() for cell in _assert_safe(text, where, ";")]
    for payload in (HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[3], HOSTILE[8].strip()):
        assert "'" + payload in cells, payload


def test_the_report_is_the_only_csv_writer() -> None:
    """A new CSV export must go through ``reporting.spreadsheet.csv_text``: no other product
    module writes CSV itself."""
    writers = re.compile(r"csv\.(writer|DictWriter)\(|\bDictWriter\(|from csv import")
    found = [
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if writers.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["reporting/spreadsheet.py"]
