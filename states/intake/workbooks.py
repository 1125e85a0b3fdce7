"""Proposal files as Excel workbooks (``.xlsx``): the first sheet, its first row the column
names, read with openpyxl in read-only mode (row by row, not the whole workbook at once).

Every cell becomes the text a CSV file of the same sheet would hold (a date as ``2027-03-01``,
a whole number without ``.0``), so a workbook is validated exactly as the CSV file is: the
same field names, the same rules, the same errors by row and field.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from states.errors import FieldError, InvalidInput
from states.intake.text_files import Row

WORKBOOK_READ_SUFFIXES = (".xlsx", ".xlsm")
UNPACKED_LIMIT = 512 * 1024 * 1024
"""An .xlsx is a zip file: one whose parts unpack to more than this is refused before it is
read (a "zip bomb" of a few megabytes would otherwise fill the memory)."""


def is_workbook(path: Path) -> bool:
    return path.suffix.lower() in WORKBOOK_READ_SUFFIXES


def _refuse(source: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError(None, "file", message)], source=source)


def cell_text(value: Any) -> str | None:
    """A cell as the text CSV would hold: dates in ISO form, whole numbers without ``.0``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def workbook_rows(path: Path) -> Iterator[tuple[int, Row | FieldError]]:
    """The rows of the first sheet as ``(number, row)``, numbered from 1 for the first row
    after the header; rows whose every cell is empty are no rows. The workbook is opened at
    once (a file that is no workbook is one error) and read lazily."""
    from openpyxl import load_workbook

    source = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
        if unpacked > UNPACKED_LIMIT:
            raise _refuse(source, f"unpacks to more than {UNPACKED_LIMIT // 2**20} MB")
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise _refuse(source, "not found") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise _refuse(source, "cannot be read as an .xlsx workbook") from None
    return _rows(workbook)


def _rows(workbook: Any) -> Iterator[tuple[int, Row | FieldError]]:
    try:
        lines = workbook.worksheets[0].iter_rows(values_only=True)
        header = [cell_text(c) or "" for c in next(lines, ())]
        while header and not header[-1].strip():  # columns Excel formatted, left unnamed
            header.pop()
        if not any(header):
            return  # no column names, no rows: the file holds no proposals
        number = 0
        for cells in lines:
            texts = [cell_text(c) for c in cells]
            if all(t is None or not t.strip() for t in texts):
                continue
            number += 1
            row: Row = dict(zip(header, texts, strict=False))
            extra = [t for t in texts[len(header) :] if t is not None and t.strip()]
            if extra:
                row[None] = extra
            yield number, row
    finally:
        workbook.close()
