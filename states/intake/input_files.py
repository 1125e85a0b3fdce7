"""Programme and proposal files (YAML, CSV or .xlsx) into validated inputs, or every error at
once.

A proposal file is a stream: its rows are validated and handed on in batches, so its size
costs time, not memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from models.schemas import ProgrammeIn, ProposalIn
from states.errors import ErrorList, FieldError, InvalidInput
from states.intake.text_files import delimited_rows, is_delimited, read_text
from states.intake.workbooks import is_workbook, workbook_rows

NESTED_PEOPLE = ("participant", "home_manager", "host_contact")
PERSON_FIELDS = ("name", "email", "language")

M = TypeVar("M", bound=BaseModel)


def _load_yaml(text: str, source: str) -> Any:
    import yaml  # here: a CSV or a workbook of proposals needs no YAML parser (~10 ms)

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise InvalidInput([FieldError(None, where, "is not valid YAML")], source=source) from None


@lru_cache(maxsize=1024)
def _nested_key(key: str) -> tuple[str, str | None]:
    """A column's name as (field, None), or for a person's column (person, field): worked out
    once per column, not once per cell (every row of a file repeats its header)."""
    key = key.strip()
    for person in NESTED_PEOPLE:
        prefix = person + "_"
        if key.startswith(prefix) and key[len(prefix) :] in PERSON_FIELDS:
            return person, key[len(prefix) :]
    return key, None


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """``participant_email`` → ``{"participant": {"email": …}}``; empty cells are left out."""
    nested: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise ValueError("the row has more cells than the header has columns")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        name, part = _nested_key(key)
        if part is None:
            nested[name] = value
        else:
            nested.setdefault(name, {})[part] = value
    return nested


def _flat_field(loc: Sequence[int | str], flat: bool) -> str:
    parts = [str(p) for p in loc]
    if flat and len(parts) >= 2 and parts[0] in NESTED_PEOPLE:
        return f"{parts[0]}_{parts[1]}"
    return ".".join(parts) or "row"


def _validated(
    model: type[M], number: int, row: Any, *, flat: bool
) -> tuple[M | None, list[FieldError]]:
    """One row: the model, or the row's every error (named by field as the file names it)."""
    if isinstance(row, FieldError):
        return None, [row]
    if not isinstance(row, dict):
        return None, [FieldError(number, "row", "is not a mapping of field names to values")]
    try:
        return model.model_validate(row), []
    except ValidationError as error:
        return None, [
            FieldError(
                number,
                _flat_field(problem["loc"], flat),
                problem["msg"].removeprefix("Value error, "),
            )
            for problem in error.errors()
        ]


def validate_rows(
    model: type[M], rows: Sequence[Any], *, source: str, flat: bool = False, first_row: int = 1
) -> list[M]:
    valid: list[M] = []
    errors = ErrorList()
    for number, row in enumerate(rows, start=first_row):
        item, problems = _validated(model, number, row, flat=flat)
        errors.extend(problems)
        if item is not None:
            valid.append(item)
    errors.raise_if_any(source=source)
    return valid


def load_programme(path: Path) -> tuple[ProgrammeIn, str]:
    """The programme in ``path`` and its text; its own agreement template, if any, is a name
    inside the agreement templates folder, checked when the programme is registered."""
    text = read_text(path)
    data = _load_yaml(text, str(path))
    return validate_rows(ProgrammeIn, [data], source=str(path))[0], text


BATCH_ROWS = 2000
"""Proposals validated and registered at a time: a batch's objects are freed before the next
is read, so a file of 200,000 rows costs about what 2,000 do."""


@dataclass(frozen=True)
class ProposalBatch:
    """Some consecutive rows of a proposal file: the valid ones with their row numbers, and the
    errors of the others (``invalid``: those rows as the file gives them, for a preview)."""

    rows: list[tuple[int, ProposalIn]]
    errors: list[FieldError]
    invalid: dict[int, dict[str, Any]] = field(default_factory=dict)


class ProposalFile:
    """A proposal file, YAML, delimited text (CSV, semicolon- or tab-separated) or an .xlsx
    workbook (its first sheet, the CSV's columns); opened and checked at once (found, its
    encoding, its separator), read by ``batches``. ``source``: the name errors give it."""

    def __init__(self, path: Path, *, source: str | None = None) -> None:
        self.path = path
        self.source = source or str(path)
        self.delimited = is_delimited(path) or is_workbook(path)
        try:
            self._rows = (
                _unflattened(workbook_rows(path) if is_workbook(path) else delimited_rows(path))
                if self.delimited
                else _yaml_rows(read_text(path), source=self.source)
            )
        except InvalidInput as error:  # named as the caller names the file
            raise InvalidInput(error.errors, source=self.source, more=error.more) from None

    def batches(self, size: int = BATCH_ROWS) -> Iterator[ProposalBatch]:
        """The rows in batches of ``size``, each row validated; a file without a single
        proposal is refused when its end is reached."""
        count = 0
        for chunk in _chunked(self._rows, size):
            count += len(chunk)
            batch = ProposalBatch(rows=[], errors=[])
            for number, row in chunk:
                proposal, errors = _validated(ProposalIn, number, row, flat=self.delimited)
                batch.errors.extend(errors)
                if proposal is not None:
                    batch.rows.append((number, proposal))
                elif isinstance(row, dict):
                    batch.invalid[number] = row
            yield batch
        if not count:
            raise InvalidInput([FieldError(None, "file", "holds no proposals")], source=self.source)


def _unflattened(rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    for number, row in rows:
        if isinstance(row, FieldError):
            yield number, row
            continue
        try:
            yield number, unflatten(row)
        except ValueError as error:
            yield number, FieldError(number, "row", str(error))


def _yaml_rows(text: str, *, source: str) -> Iterator[tuple[int, Any]]:
    """YAML is read whole (a hand-written file of one or a few proposals)."""
    data = _load_yaml(text, source)
    rows = data if isinstance(data, list) else [data]
    if rows != [None]:
        yield from enumerate(rows, start=1)


def _chunked(rows: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_proposals(path: Path) -> list[ProposalIn]:
    """Every proposal of a (small) file at once, or every error: for the examples and tests;
    ``mobility propose`` streams ``ProposalFile(path).batches()`` into the registration."""
    proposals = ProposalFile(path)
    errors = ErrorList()
    valid: list[ProposalIn] = []
    for batch in proposals.batches():
        errors.extend(batch.errors)
        valid += [proposal for _, proposal in batch.rows]
    errors.raise_if_any(source=proposals.source)
    return valid
