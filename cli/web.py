import typer

from cli.common import actor, announce_queued_mail, get_app, parse_as_of


def web(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Serve the pages behind the emailed links and the coordinator's board (/board). Without
    MOBILITY_SMTP_HOST it also runs the local mail catcher and lists caught mail at /dev/mail;
    without MOBILITY_OIDC_ISSUER the board has a development sign-in, on 127.0.0.1 only."""
    from web.board.config import check_bind
    from web.server import run

    app = get_app()
    check_bind(app.settings, host)  # no board on a public address with only the dev sign-in
    if app.settings.uses_mail_catcher:
        typer.echo(
            f"dev mail: SMTP catcher on 127.0.0.1:{app.settings.catcher_port}, "
            f"caught mail at http://{host}:{port}/dev/mail"
        )
    run(app, host=host, port=port)


def resend(
    reference: str = typer.Argument(..., help="Placement reference, e.g. PL-2027-0001."),
    as_of: str | None = typer.Option(None, "--as-of", help="Pretend it is this time (ISO)."),
) -> None:
    """Send fresh links to whoever still has to act in the current step; their old links die."""
    from states.links.resend import resend_links

    resent = resend_links(
        get_app().uow(), reference=reference, actor=actor(), now=parse_as_of(as_of)
    )
    announce_queued_mail()
    for link in resent:
        typer.echo(f"{reference}  new link queued for {link.role}: {link.person_name}")
    typer.echo("run `mobility outbox send` (or keep `mobility up` running) to deliver them")


def remind(
    reference: str = typer.Argument(..., help="Placement reference, e.g. PL-2027-0001."),
    as_of: str | None = typer.Option(None, "--as-of", help="Pretend it is this time (ISO)."),
) -> None:
    """Remind whoever still has to act in the current step, now (their links stay the same)."""
    from states.links.remind import remind_now

    reminded = remind_now(
        get_app().uow(), reference=reference, actor=actor(), via="cli", now=parse_as_of(as_of)
    )
    for reminder in reminded:
        typer.echo(f"{reference}  reminder queued for {reminder.role}: {reminder.person_name}")
    typer.echo("run `mobility outbox send` (or keep `mobility up` running) to deliver them")


def register(app: typer.Typer) -> None:
    app.command("web")(web)
    app.command("resend")(resend)
    app.command("remind")(remind)
