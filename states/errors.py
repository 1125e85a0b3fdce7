"""Errors a user can read: each carries a one-line message in plain words."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


class MobilityError(Exception):
    """Base class: ``str(error)`` is meant for people, not for logs only (English, as the
    command line writes it); ``in_language`` says it in the reader's language where the error
    was raised with the glossary's words (``states.lifecycle.refusals.refused``)."""

    def __init__(self, *args: object, said: Callable[[str], str] | None = None) -> None:
        super().__init__(*args)
        self._said = said

    def in_language(self, language: str) -> str:
        return self._said(language) if self._said is not None else str(self)


class NotFound(MobilityError):
    pass


class AgreementTemplateError(MobilityError):
    """A programme's agreement template cannot be used: outside its folder, or it fails."""


class TransitionRefused(MobilityError):
    """The event is not possible in the placement's state (or not yet, or not by this person)."""


class AlreadyDecided(TransitionRefused):
    """Someone else acted first: the placement, step or decision has already moved on."""


class NotPermitted(TransitionRefused):
    """The actor has no part in this step."""


@dataclass(frozen=True)
class FieldError:
    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field}: {self.message}"


class InvalidInput(MobilityError):
    """Input that cannot be accepted; lists every problem, not only the first (``more``: how
    many were found beyond those listed)."""

    def __init__(self, errors: list[FieldError], *, source: str = "input", more: int = 0) -> None:
        self.errors = errors
        self.source = source
        self.more = more
        total = len(errors) + more
        noun = "error" if total == 1 else "errors"
        lines = [f"{source}: {total:,} {noun}, nothing was created"]
        lines += [f"  {error}" for error in errors]
        if more:
            lines.append(f"  … and {more:,} more")
        super().__init__("\n".join(lines))


MAX_LISTED_ERRORS = 100
"""A file of 200,000 broken rows names its first hundred errors and counts the rest: enough
to see what is wrong, and a message a person can read."""


class ErrorList:
    """The errors of an input as they are found: the first ``limit`` kept, the rest counted."""

    def __init__(self, limit: int = MAX_LISTED_ERRORS) -> None:
        self.limit = limit
        self.listed: list[FieldError] = []
        self.more = 0

    def extend(self, errors: Iterable[FieldError]) -> None:
        for error in errors:
            if len(self.listed) < self.limit:
                self.listed.append(error)
            else:
                self.more += 1

    def __bool__(self) -> bool:
        return bool(self.listed)

    def raise_if_any(self, *, source: str) -> None:
        if self.listed:
            raise InvalidInput(self.listed, source=source, more=self.more)
