"""``mobility prefect setup``: the automations shipped with the product, on any Prefect server.

Idempotent (found by name, updated in place); ``mobility up`` runs it at every start.
"""

import os

import typer

from states.errors import MobilityError

prefect_app = typer.Typer(help="The Prefect server as the ops console: `setup` its automations.")


class NoPrefectServer(MobilityError):
    """Automations need a real server to live on."""


def run_setup(*, echo: bool = True) -> None:
    """Create or update the ops block and the automations on ``PREFECT_API_URL``'s server."""
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            raise NoPrefectServer(
                "PREFECT_API_URL is not set; point it at your Prefect server "
                "(e.g. http://127.0.0.1:4200/api) and run this again"
            )
    import asyncio  # here, not at the top: `mobility --help` does not pay for it

    from cli.common import get_app
    from flows.automations import set_up

    report = asyncio.run(set_up(get_app().settings))
    if not echo:
        return
    for name in report.created:
        typer.echo(f"created   {name}")
    for name in report.updated:
        typer.echo(f"up to date {name}")
    if report.removed_duplicates:
        typer.echo(f"removed   {report.removed_duplicates} duplicate automation(s)")
    if report.block is None:
        typer.echo("note: MOBILITY_OPS_EMAIL is not set; the automations alert nobody yet")
    else:
        typer.echo(f"alerts go through the block {report.block!r} to MOBILITY_OPS_EMAIL")


@prefect_app.command("setup")
def setup() -> None:
    """Create (or bring up to date) the automations that email ops when a sweep or delivery
    run fails or crashes and when an email is given up (MOBILITY_OPS_EMAIL, over the
    MOBILITY_SMTP_* settings). Safe to run again at any time."""
    run_setup()


def register(app: typer.Typer) -> None:
    app.add_typer(prefect_app, name="prefect")
