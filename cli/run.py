"""``mobility run deliver|sweep|report``, ``mobility up`` and ``mobility demo``.

With ``PREFECT_API_URL`` set, ``run`` starts the flow, so the run shows in the Prefect UI. Without
it, the same service function runs directly: a temporary Prefect server per call would cost
seconds and show nothing to anyone. Prefect is imported only inside the commands.
"""

import os

import typer

from cli.common import (
    get_app,
    parse_as_of,
    parse_report_as_of,
    print_json,
    print_overview,
    print_table,
)

run_app = typer.Typer(help="Run a flow once, now: deliver, sweep or report.", no_args_is_help=True)


def prefect_configured() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def _how() -> str:
    if prefect_configured():
        return f"as a Prefect flow run ({os.environ['PREFECT_API_URL']})"
    return "directly (PREFECT_API_URL is not set, so no flow run is recorded)"


def _print_counts(counts: dict[str, int]) -> None:
    if not counts:
        typer.echo("nothing was due")
        return
    print_table(["what", "count"], sorted(counts.items()))


@run_app.command("deliver")
def deliver(
    limit: int | None = typer.Option(None, "--limit", min=1, help="Send at most this many."),
) -> None:
    """Send the emails that are due in the outbox."""
    typer.echo(f"delivering {_how()}", err=True)
    if prefect_configured():
        import asyncio

        from flows.deliver import deliver_notifications

        result = asyncio.run(deliver_notifications(limit=limit))
        _print_counts({k: v for k, v in result.items() if v})
        return
    from notifications.delivery import deliver_due_sync

    app = get_app()
    report = deliver_due_sync(
        engine=app.engine, settings=app.settings, config=app.config, limit=limit
    )
    _print_counts({k: v for k, v in report.counts().items() if v})


@run_app.command("sweep")
def sweep(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Sweep as if it were this time (ISO; default now)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Do what the calendar says is due: reminders, escalations, start, check-in, end, close."""
    moment = parse_as_of(as_of)
    typer.echo(f"sweeping at {moment.isoformat()} {_how()}", err=True)
    if prefect_configured():
        import asyncio

        from flows.sweep import sweep as sweep_flow

        result = asyncio.run(sweep_flow(as_of=moment))
        counts, failures = result["counts"], result["failures"]
    else:
        from states.calendar.sweep import run_sweep

        report = run_sweep(get_app().uow, as_of=moment)
        counts, failures = report.counts, report.failures
    if as_json:
        print_json({"as_of": moment.isoformat(), "counts": counts, "failures": failures})
    else:
        _print_counts(counts)
    for line in failures:
        typer.echo(f"failed: {line}", err=True)
    if failures:
        raise typer.Exit(1)


@run_app.command("report")
def report(
    programme: str = typer.Argument(..., help="Programme key, e.g. paus-2027."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="As the programme stood then, from its history: a date (its end) or a time "
        "(default: now).",
    ),
) -> None:
    """A programme's placements per state and those waiting longest (and, with Prefect, its
    follow-up as artifacts)."""
    moment = parse_report_as_of(as_of)
    typer.echo(f"reporting {_how()}", err=True)
    if prefect_configured():
        from flows.refusals import refusal_as_error
        from flows.report import programme_report

        data = refusal_as_error(programme_report(programme=programme, as_of=moment))
    else:
        from reporting.overview import overview

        data = overview(get_app(), programme.strip(), moment)
    print_overview(data)


def register(app: typer.Typer) -> None:
    app.add_typer(run_app, name="run")
