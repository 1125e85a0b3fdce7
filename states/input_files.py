"""Programme and proposal files (YAML or CSV) into validated inputs, or every error at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from models.schemas import ProgrammeIn, ProposalIn
from states.errors import FieldError, InvalidInput

NESTED_PEOPLE = ("participant", "home_manager", "host_contact")
PERSON_FIELDS = ("name", "email", "language")

M = TypeVar("M", bound=BaseModel)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput([FieldError(None, "file", "not found")], source=str(path)) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            [FieldError(None, "file", "is not UTF-8 text")], source=str(path)
        ) from None


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise InvalidInput([FieldError(None, where, "is not valid YAML")], source=source) from None


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """``participant_email`` → ``{"participant": {"email": …}}``; empty cells are left out."""
    nested: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise ValueError("the row has more cells than the header has columns")
        key = key.strip()
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        for person in NESTED_PEOPLE:
            prefix = person + "_"
            if key.startswith(prefix) and key[len(prefix) :] in PERSON_FIELDS:
                nested.setdefault(person, {})[key[len(prefix) :]] = value
                break
        else:
            nested[key] = value
    return nested


def _flat_field(loc: Sequence[int | str], flat: bool) -> str:
    parts = [str(p) for p in loc]
    if flat and len(parts) >= 2 and parts[0] in NESTED_PEOPLE:
        return f"{parts[0]}_{parts[1]}"
    return ".".join(parts) or "row"


def validate_rows(
    model: type[M], rows: Sequence[Any], *, source: str, flat: bool = False, first_row: int = 1
) -> list[M]:
    valid: list[M] = []
    errors: list[FieldError] = []
    for number, row in enumerate(rows, start=first_row):
        if not isinstance(row, dict):
            errors.append(FieldError(number, "row", "is not a mapping of field names to values"))
            continue
        try:
            valid.append(model.model_validate(row))
        except ValidationError as error:
            for problem in error.errors():
                message = problem["msg"].removeprefix("Value error, ")
                errors.append(FieldError(number, _flat_field(problem["loc"], flat), message))
    if errors:
        raise InvalidInput(errors, source=source)
    return valid


def load_programme(path: Path) -> tuple[ProgrammeIn, str]:
    """The programme in ``path`` and its text; its own agreement template, if any, is a name
    inside the agreement templates folder, checked when the programme is registered."""
    text = _read_text(path)
    data = _load_yaml(text, str(path))
    return validate_rows(ProgrammeIn, [data], source=str(path))[0], text


def parse_proposals(text: str, *, source: str, csv_format: bool) -> list[ProposalIn]:
    if csv_format:
        reader = csv.DictReader(io.StringIO(text))
        rows: list[Any] = []
        errors: list[FieldError] = []
        for number, row in enumerate(reader, start=1):
            try:
                rows.append(unflatten(row))
            except ValueError as error:
                errors.append(FieldError(number, "row", str(error)))
                rows.append({})
        if errors:
            raise InvalidInput(errors, source=source)
        if not rows:
            raise InvalidInput([FieldError(None, "file", "holds no proposals")], source=source)
        return validate_rows(ProposalIn, rows, source=source, flat=True)
    data = _load_yaml(text, source)
    rows = data if isinstance(data, list) else [data]
    if not rows or rows == [None]:
        raise InvalidInput([FieldError(None, "file", "holds no proposals")], source=source)
    return validate_rows(ProposalIn, rows, source=source)


def load_proposals(path: Path) -> list[ProposalIn]:
    return parse_proposals(
        _read_text(path), source=str(path), csv_format=path.suffix.lower() == ".csv"
    )
