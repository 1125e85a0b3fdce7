"""``mobility demo``: the whole product in under a minute, on its own database.

Loads the example programmes and proposals, then walks them through their lives with real
emails (delivered over SMTP into the mail catcher) and real link clicks (HTTP GET to look, POST
to decide, against the link web app served in a thread) while time moves with ``as_of``: an
approval, a request for changes, a decline, reminders and an escalation digest, the start, the
midpoint check-in, the end, the evaluation, and a closing at the due date. Prints every email's
subject and every state change as it happens, and ends with the programmes' reports.

Nothing here uses Prefect: the same service functions the flows call run in-process.
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the story imports urllib.request (~20 ms): only `mobility demo` pays it
    from cli.demo_story import Demo

DEMO_FILES = ("demo.db", "demo.db-wal", "demo.db-shm")


@contextmanager
def demo_stack(var_dir: Path) -> "Iterator[Demo]":
    """A fresh demo database, the catcher and the web app on free ports."""
    from cli.demo_story import Demo
    from config import Settings
    from models.migrate import upgrade
    from notifications.catcher import start_catcher
    from states.bootstrap import bootstrap
    from web.app import create_app
    from web.server import free_port, serving

    var_dir.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:  # only what an earlier demo made
        (var_dir / name).unlink(missing_ok=True)
    shutil.rmtree(var_dir / "mail", ignore_errors=True)
    port = free_port()
    settings = Settings(
        var_dir=var_dir,
        database_url=f"sqlite:///{(var_dir / 'demo.db').as_posix()}",
        base_url=f"http://127.0.0.1:{port}",
        smtp_host=None,
        catcher_port=free_port(),
    )
    upgrade(settings.resolved_database_url)
    app = bootstrap(settings)
    catcher = start_catcher(settings)
    demo = Demo(app=app, base=settings.base_url)
    try:
        with serving(
            create_app(app, dev_mail=True, clock=demo.clock), port=port, log_level="warning"
        ):
            yield demo
    finally:
        catcher.stop()
        app.engine.dispose()


def print_follow_up(walk: "Demo", programme: str) -> None:
    """A few figures of the follow-up report (``mobility report`` has them all)."""
    from reporting.tables import report_summary
    from states.followup.figures import build_report

    summary = report_summary(build_report(walk.app.reading(), programme=programme, as_of=walk.now))
    typer.echo(
        f"budget {summary['budget_sek']} SEK, committed {summary['committed_sek']} SEK; "
        f"evaluations answered {summary['evaluations_answered']} of "
        f"{summary['evaluations_asked']}, check-ins {summary['checkins_answered']} of "
        f"{summary['checkins_asked']}; hosts {summary['host_organisations']}"
    )


def demo(
    var_dir: Annotated[
        Path | None,
        typer.Option(
            "--var-dir",
            help="Where the demo keeps its database and mail (default var/demo).",
        ),
    ] = None,
) -> None:
    """Walk the example programmes through their whole lifecycle with real emails and clicks."""
    import time

    from cli.common import print_overview
    from cli.demo_story import story
    from config import get_settings
    from reporting.overview import overview

    folder = var_dir or get_settings().var_dir / "demo"
    started = time.monotonic()
    with demo_stack(folder.resolve()) as walk:
        typer.echo(
            f"Mobility Engine demo: database {walk.app.settings.resolved_database_url}, "
            f"links on {walk.base}"
        )
        story(walk)
        typer.echo("\nWhere the programmes stand:")
        for key in ("affilierad-kompetens-2027", "paus-2027"):
            typer.echo("")
            print_overview(overview(walk.app, key, walk.now))
            print_follow_up(walk, key)
        typer.echo(
            f"\n{walk.sent} emails delivered, {walk.changes} state changes, "
            f"{time.monotonic() - started:.1f} s. Caught mail: {folder / 'mail'}"
        )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
