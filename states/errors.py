"""Errors a user can read: each carries a one-line message in plain words."""

from __future__ import annotations

from dataclasses import dataclass


class MobilityError(Exception):
    """Base class: ``str(error)`` is meant for people, not for logs only."""


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
    """Input that cannot be accepted; lists every problem, not only the first."""

    def __init__(self, errors: list[FieldError], *, source: str = "input") -> None:
        self.errors = errors
        self.source = source
        noun = "error" if len(errors) == 1 else "errors"
        lines = [f"{source}: {len(errors)} {noun}, nothing was created"]
        lines += [f"  {error}" for error in errors]
        super().__init__("\n".join(lines))
