"""CSV for spreadsheets: the one CSV writer of the product, and the one rule that keeps a cell
from being read as a formula.

A host organisation named ``=HYPERLINK("http://evil.example/x","Klicka")`` or a reason given
as ``@SUM(1+1)*cmd|' /C calc'!A0`` would otherwise run as a formula when the coordinator opens
the file in Excel or LibreOffice. Following OWASP's guidance on CSV injection, a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a line break (or their full-width forms, which
some spreadsheets accept for the ASCII ones), possibly after spaces, gets a leading ``'``: the
spreadsheet then shows it as the text it is. Numbers the product itself writes (counts,
amounts, a negative remaining budget) are not text and stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMULA_TRIGGERS = frozenset("=+-@\t\r\n" + "＝＋－＠")
"""First characters that make a spreadsheet evaluate a cell (OWASP), and their full-width
forms."""


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a spreadsheet must read it: text that would start a formula is prefixed
    with ``'``; numbers, booleans and empty cells pass unchanged."""
    if not isinstance(value, str):
        return value
    start = value.lstrip(" \u00a0")
    if start and start[0] in FORMULA_TRIGGERS:
        return "'" + value
    return value


LINE_END = "\r\n"
"""RFC 4180's and Excel's own: with it the writer quotes a cell holding a lone CR, which with
``\n`` line ends it leaves bare, and a spreadsheet would start a new row (and a new cell that
can be a formula) there."""


@dataclass(frozen=True)
class CsvDialect:
    """How the spreadsheet of a language reads CSV: Excel in a Swedish locale separates cells
    with ``;`` and writes decimals with a comma; in an English one with ``,`` and a point."""

    delimiter: str
    decimal: str

    def cell(self, value: Any) -> Any:
        """A cell through ``spreadsheet_cell``; decimals in this dialect (after the check: a
        number is no text that could start a formula, "-1,5" included)."""
        value = spreadsheet_cell(value)
        if isinstance(value, float):
            return str(value).replace(".", self.decimal)
        return value


DIALECTS: Mapping[str, CsvDialect] = {"sv": CsvDialect(";", ","), "en": CsvDialect(",", ".")}
ENCODING = "utf-8-sig"
"""UTF-8 with a byte-order mark: how Excel knows a CSV file is UTF-8 ("CSV UTF-8")."""


def csv_rows(
    header: Sequence[str], rows: Iterable[Sequence[Any]], dialect: CsvDialect = DIALECTS["en"]
) -> str:
    """A header and rows as CSV in ``dialect``, every cell through ``spreadsheet_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=LINE_END)
    writer.writerow([dialect.cell(name) for name in header])
    for row in rows:
        writer.writerow([dialect.cell(value) for value in row])
    return buffer.getvalue()


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV with a header of ``columns``, every cell through ``spreadsheet_cell``."""
    return csv_rows(columns, ([row.get(name) for name in columns] for row in rows))
