"""The ``mobility`` command. Commands import what they need when they run: ``--help`` stays fast."""

from __future__ import annotations

import os
import sys

# Plain click help and errors: rich would add ~70 ms to every `mobility --help`.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer

from cli import (
    db,
    demo,
    followup,
    outbox,
    placements,
    prefect_setup,
    programmes,
    run,
    stack,
    web,
)

app = typer.Typer(
    name="mobility",
    help="Mobility Engine: staff-mobility placements from proposal to evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (db, programmes, placements, outbox, web, run, stack, prefect_setup, demo, followup):
    module.register(app)


def main() -> None:
    """Run the CLI; a user error is one line on stderr and exit code 2, never a traceback."""
    from cli.common import report_error

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        if os.environ.get("MOBILITY_DEBUG"):
            raise
        sys.exit(report_error(error))


if __name__ == "__main__":
    main()
