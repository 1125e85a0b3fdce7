"""The report's tables as one ``.xlsx`` workbook (XlsxWriter), one sheet per table, in the
programme's language: what a Swedish Excel opens without an import dialogue.

Every text is written as text (``write_string``; the workbook turns no string into a formula,
a number or a link), so a host named ``=HYPERLINK(…)`` stays that text; numbers are numbers,
dates are dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from reporting.tables import PeopleTable

SHEET_NAME_LIMIT = 31
_NOT_IN_SHEET_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})


def _sheet_name(title: str, taken: set[str]) -> str:
    name = title.translate(_NOT_IN_SHEET_NAMES)[:SHEET_NAME_LIMIT]
    number = 2
    while name.casefold() in taken:
        suffix = f" {number}"
        name = name[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        number += 1
    taken.add(name.casefold())
    return name


def write_workbook(tables: Iterable[PeopleTable], path: Path) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    taken: set[str] = set()
    for table in tables:
        sheet = workbook.add_worksheet(_sheet_name(table.title, taken))
        for column, header in enumerate(table.headers):
            sheet.write_string(0, column, header, bold)
            sheet.set_column(column, column, max(10, min(40, len(header) + 2)))
        for number, row in enumerate(table.rows, start=1):
            for column, value in enumerate(row):
                _write(sheet, number, column, value, day)
        sheet.freeze_panes(1, 0)
    workbook.close()
    return path


def _write(sheet: Any, row: int, column: int, value: Any, day: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, column, value)
    elif isinstance(value, date):
        sheet.write_datetime(row, column, value, day)
    else:
        sheet.write_string(row, column, str(value))
