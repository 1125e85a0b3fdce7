"""``mobility outbox``: the email queue — show it, deliver what is due, re-queue a dead one."""

import typer

from cli.common import announce_queued_mail, get_app, parse_as_of, print_json, print_table

outbox_app = typer.Typer(
    help="The email queue: `mobility outbox` shows it; `send` delivers; `retry` re-queues.",
    invoke_without_command=True,
)


STATE_OPTION = typer.Option(
    None, "--state", help="Only this state: pending, sending, sent, dead, cancelled."
)
LIMIT_OPTION = typer.Option(200, "--limit", min=1, help="At most this many, newest first.")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")


@outbox_app.callback()
def queue(
    ctx: typer.Context,
    state: str | None = STATE_OPTION,
    limit: int = LIMIT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the email queue, newest first."""
    if ctx.invoked_subcommand is None:
        _show(state, limit, as_json)


@outbox_app.command("show")
def show(
    state: str | None = STATE_OPTION,
    limit: int = LIMIT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the email queue, newest first (the same as `mobility outbox`)."""
    _show(state, limit, as_json)


def _show(state: str | None, limit: int, as_json: bool) -> None:
    from notifications.queue import list_outbox

    rows = list_outbox(get_app().reading(), state=state, limit=limit)
    if as_json:
        print_json([row.__dict__ for row in rows])
        return
    print_table(
        ["ID", "STATE", "KIND", "TO", "LANG", "REFERENCE", "TRIES", "NEXT/SENT", "LAST ERROR"],
        [
            [
                r.id,
                r.status,
                r.kind,
                r.to,
                r.language,
                r.reference or "-",
                r.attempts,
                f"{(r.sent_at or r.next_attempt_at):%Y-%m-%d %H:%M}",
                (r.last_error or "")[:60],
            ]
            for r in rows
        ],
    )


@outbox_app.command("send")
def send(
    as_of: str | None = typer.Option(None, "--as-of", help="Deliver what is due at this time."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many messages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Deliver the emails that are due now over SMTP (or to the local mail catcher)."""
    from notifications.delivery import deliver_due_sync
    from notifications.smtp import SmtpTarget

    app = get_app()
    report = deliver_due_sync(
        engine=app.engine,
        settings=app.settings,
        config=app.config,
        now=parse_as_of(as_of),
        limit=limit,
    )
    if as_json:
        print_json(report.counts())
        return
    counts = report.counts()
    typer.echo("  ".join(f"{name} {value}" for name, value in counts.items()))
    if report.dead:
        many = report.dead > 1
        typer.echo(
            f"note: {report.dead} message{'s are' if many else ' is'} dead; "
            "`mobility outbox --state dead` says why",
            err=True,
        )
    if report.retried and report.retried == report.claimed:
        target = SmtpTarget.from_settings(app.settings)
        where = (
            "the mail catcher (run `mobility web`)"
            if app.settings.uses_mail_catcher
            else ("MOBILITY_SMTP_HOST")
        )
        typer.echo(
            f"note: nothing reached {target.host}:{target.port}; check {where}. "
            "The messages wait in the queue.",
            err=True,
        )


@outbox_app.command("retry")
def retry(outbox_id: int = typer.Argument(..., help="The id of a dead message.")) -> None:
    """Put a dead message back in the queue, due now."""
    from datetime import UTC, datetime

    from notifications.queue import requeue_dead

    message = requeue_dead(get_app().uow(), outbox_id=outbox_id, now=datetime.now(UTC))
    announce_queued_mail()
    typer.echo(f"outbox {message.id} ({message.kind} to {message.to_email}) is pending again")


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
