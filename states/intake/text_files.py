"""Text files as coordinators have them: the encoding and the column separator Excel chose.

A Swedish-locale Excel saves "CSV" with ``;`` between the columns, "CSV UTF-8" with a
byte-order mark, plain "CSV" in Windows-1252 and "Unicode text" as tab-separated UTF-16.
Each is recognised here, from the bytes and from the header line; what cannot be told is one
clear error, never a guess that turns into a dozen cryptic ones.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from states.errors import FieldError, InvalidInput

DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
SEPARATORS: Mapping[str, str] = {",": "a comma", ";": "a semicolon", "\t": "a tab"}
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .ods are zip files
CHUNK_BYTES = 1 << 20

_QUOTED = re.compile(r'"[^"]*"')
_EXCEL_SEPARATOR_LINE = re.compile(r'^"?sep=(.)"?\r?\n?$')

Row = dict[str | None, str | list[str] | None]
"""A CSV row by column name; cells beyond the header's columns under ``None``."""


def _refuse(source: str, message: str, row: int | None = None) -> InvalidInput:
    return InvalidInput([FieldError(row, "file", message)], source=source)


def is_delimited(path: Path) -> bool:
    return path.suffix.lower() in DELIMITED_SUFFIXES


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def text_encoding(path: Path) -> str:
    """UTF-8 with or without a byte-order mark; UTF-16 with one (Excel's "Unicode text");
    else Windows-1252 (Excel's plain "CSV" on Swedish Windows), when the bytes are not UTF-8.
    Read in chunks: a file of any size costs a megabyte here."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            start = handle.read(4)
    except FileNotFoundError:
        raise _refuse(source, "not found") from None
    except IsADirectoryError:
        raise _refuse(source, "is a folder, not a file") from None
    if path.suffix.lower() in WORKBOOK_SUFFIXES or start.startswith(ZIP_MAGIC):
        raise _refuse(
            source,
            "is a spreadsheet workbook, not text; save it as CSV (semicolon- or "
            "comma-separated, or CSV UTF-8) or as an .xlsx workbook and give that file",
        )
    utf16 = start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    raise _refuse(source, "is neither UTF-8 nor Windows-1252 text")


def read_text(path: Path) -> str:
    """A small file's whole text (a programme, a YAML proposal), in the encoding it has."""
    encoding = text_encoding(path)
    return path.read_bytes().decode(encoding)


def sniff_separator(header: str, *, source: str) -> str:
    """The one of ``,`` ``;`` and tab that separates the column names of ``header``."""
    bare = _QUOTED.sub("", header)
    found = [separator for separator in SEPARATORS if separator in bare]
    if len(found) == 1:
        return found[0]
    if not bare.strip():
        raise _refuse(source, "holds no proposals")
    holds = " and ".join(SEPARATORS[s] for s in found) if found else "no comma, semicolon or tab"
    raise _refuse(
        source,
        f"cannot tell the column separator from the header line (it holds {holds}); "
        "separate the column names with one of them: comma, semicolon or tab",
    )


def delimited_rows(path: Path) -> Iterator[tuple[int, Row | FieldError]]:
    """The rows of a CSV (or semicolon- or tab-separated) file as ``(number, row)``, numbered
    from 1 for the first row after the header; rows whose every cell is empty (what Excel
    leaves after a formatted range) are no rows. The file is checked at once (found, its
    encoding, its separator) and read lazily, line by line."""
    source = str(path)
    encoding = text_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        first = handle.readline()
        declared = _EXCEL_SEPARATOR_LINE.match(first)
        header = handle.readline() if declared else first
    separator = declared.group(1) if declared else sniff_separator(header, source=source)
    return _rows(path, encoding, separator, skip=1 if declared else 0)


def _rows(
    path: Path, encoding: str, separator: str, *, skip: int
) -> Iterator[tuple[int, Row | FieldError]]:
    number = 0
    with path.open(encoding=encoding, newline="") as handle:
        lines = iter(handle)
        for _ in range(skip):
            next(lines, None)
        reader = csv.DictReader(lines, delimiter=separator)
        try:
            for row in reader:
                if _blank(row):
                    continue
                number += 1
                yield number, row
        except csv.Error as error:
            yield number + 1, FieldError(number + 1, "row", f"cannot be read as CSV: {error}")


def _blank(row: Row) -> bool:
    cells = [value for key, value in row.items() if key is not None]
    extra = row.get(None)
    if isinstance(extra, list):
        cells += extra
    return all(not isinstance(cell, str) or not cell.strip() for cell in cells)
