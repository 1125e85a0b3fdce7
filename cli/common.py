"""Helpers shared by the commands: the wired application, the actor, time and output."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from states.bootstrap import App


@lru_cache(maxsize=1)
def get_app() -> App:
    from states.bootstrap import bootstrap

    return bootstrap()


def announce_queued_mail() -> None:
    """After a command that may have queued mail: with a Prefect server configured
    (PREFECT_API_URL), the delivery's trigger hears of it now instead of at the safety net."""
    if not os.environ.get("PREFECT_API_URL"):
        return  # and Prefect is not imported
    from notifications.events import announce_after_command

    announce_after_command(get_app())


def actor() -> str:
    import getpass  # these imports wait for the commands that use them: `--help` stays fast

    from models.text import single_line

    return single_line(os.environ.get("MOBILITY_ACTOR") or getpass.getuser())


def parse_as_of(value: str | None) -> datetime:
    """``--as-of`` as an aware datetime; a date or a naive time is read in the programme's zone."""
    if value is None:
        return datetime.now(UTC)
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or datetime (2027-03-24 or 2027-03-24T07:00)",
            param_hint="--as-of",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_app().settings.timezone))
    return moment


def parse_report_as_of(value: str | None) -> datetime | None:
    """A report's ``--as-of``: a date means the end of that day (the state each placement was
    in when it ended), a time that moment; None: everything recorded, now."""
    if value is None:
        return None
    moment = parse_as_of(value)
    if len(value.strip()) == len("2027-03-24"):
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    return moment


def print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns padded to their widest cell; a cell is one line with no control or bidi
    characters, whatever the database holds (a row stored before they were cleaned)."""
    from models.text import single_line

    cells = [[str(c) for c in headers]] + [[single_line(str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            typer.echo("  ".join("-" * w for w in widths))


def report_error(error: BaseException) -> int:
    """Print ``error`` for a person; return the exit code."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from states.errors import MobilityError

    if isinstance(error, MobilityError):
        typer.echo(f"error: {error}", err=True)
        return 2
    if isinstance(error, OperationalError):
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        typer.echo(f"error: the database cannot be used: {reason}", err=True)
        if "no such table" in reason or "does not exist" in reason:
            typer.echo("hint: run `mobility db upgrade` first", err=True)
        return 3
    if isinstance(error, SQLAlchemyError):
        typer.echo(f"error: database error: {type(error).__name__}", err=True)
        return 3
    if isinstance(error, OSError):
        typer.echo(
            f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), err=True
        )
        return 2
    typer.echo(f"error: unexpected {type(error).__name__}: {error}", err=True)
    typer.echo("(set MOBILITY_DEBUG=1 to see the traceback)", err=True)
    return 1


def print_overview(data: dict[str, object]) -> None:
    states = data["states"]
    assert isinstance(states, dict)
    typer.echo(f"{data['programme']} as of {data['as_of']}")
    print_table(["state", "placements"], sorted(states.items()))
    waiting = data["waiting_longest"]
    assert isinstance(waiting, list)
    if waiting:
        typer.echo("\nwaiting longest:")
        print_table(
            ["reference", "step", "since", "business days", "waiting for"],
            [
                (
                    c["reference"],
                    c["step"],
                    c["waiting_since"],
                    c["business_days"],
                    "; ".join(f"{w['name']} ({w['role']})" for w in c["waiting_for"]),
                )
                for c in waiting
            ],
        )
