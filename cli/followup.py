"""Follow-up commands: the programme report, the agreement document, amendments of terms, and
personal data (export, purge). Heavy imports happen inside the commands."""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import actor, get_app, parse_as_of, parse_report_as_of, print_json

if TYPE_CHECKING:
    from states.privacy.purge import PurgeResult

FORMATS = ("md", "csv", "json")


def report(
    programme: str = typer.Argument(..., help="Programme key, e.g. paus-2027."),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write report.md with charts/*.png, csv/*.csv and report.json here."
        ),
    ] = None,
    fmt: str | None = typer.Option(
        None, "--format", help="md, csv or json: what to print (or, with --out, to write)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="As the programme stood then, from its history: a date (its end) or a time "
        "(default: now, everything recorded).",
    ),
) -> None:
    """Programme follow-up: funnel, lead times, rates, money, network, evaluation results,
    in the programme's language."""
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    from states.followup.figures import build_report

    result = build_report(get_app().reading(), programme=programme, as_of=parse_report_as_of(as_of))
    if out is not None:
        from reporting.writers import write_report

        written = write_report(result, out, formats=(fmt,) if fmt else FORMATS)
        typer.echo(f"wrote {len(written)} files to {out}")
        return
    from reporting.markdown import report_markdown
    from reporting.writers import report_csv, report_json

    printers = {"md": report_markdown, "csv": report_csv, "json": report_json}
    typer.echo(printers[fmt or "md"](result))


def agreement(
    reference: str = typer.Argument(..., help="Placement reference, e.g. PL-2027-0001."),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the document (or the PDF) to this file.")
    ] = None,
    pdf: bool = typer.Option(
        False,
        "--pdf",
        help="Write the PDF/A rendition (for the registry; the accepted HTML is inside it), "
        "to --out or to <REFERENCE>-avtal-v<N>.pdf here.",
    ),
) -> None:
    """The placement's agreement: the final version if every party accepted, else the latest.

    The HTML holds the document byte for byte, so its SHA-256 is the one the parties accepted.
    """
    from states.documents.agreement import current_agreement

    document = current_agreement(get_app().reading(), reference=reference)
    status = (
        f"final since {document.final_at:%Y-%m-%d}"
        if document.final_at
        else "waiting for acceptance"
    )
    if pdf:
        from states.documents.pdf import agreement_pdf

        rendition = agreement_pdf(
            html=document.html,
            reference=reference,
            version=document.version,
            language=document.language,
            created=document.created_at,
        )
        out = out or Path(rendition.filename)
        out.write_bytes(rendition.content)
    elif out is None:
        typer.echo(document.html, nl=False)
    else:
        out.write_bytes(document.html.encode("utf-8"))
    accepted = ", ".join(a.role for a in document.acceptances if a.accepted_at and not a.void)
    typer.echo(
        f"{reference} agreement v{document.version} ({document.template}, {document.language}), "
        f"{status}; sha256 {document.sha256}; accepted by: {accepted or 'nobody yet'}"
        + (f"; written to {out}" if out else ""),
        err=True,
    )


def amend(
    reference: str = typer.Argument(..., help="Placement reference."),
    start: str | None = typer.Option(None, "--start", help="New start date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="New end date (YYYY-MM-DD)."),
    extent: int | None = typer.Option(None, "--extent", help="Extent in percent (1–100)."),
    purpose: str | None = typer.Option(None, "--purpose"),
    development_plan: str | None = typer.Option(None, "--development-plan"),
    value_for_home: str | None = typer.Option(None, "--value-for-home"),
    value_for_host: str | None = typer.Option(None, "--value-for-host"),
    student_involvement: str | None = typer.Option(None, "--student-involvement"),
    funding: int | None = typer.Option(None, "--funding", help="Funding in SEK."),
    as_of: str | None = typer.Option(None, "--as-of", help="When (default: now)."),
) -> None:
    """Change a placement's terms. After an agreement went out, every party is asked to accept
    the new version and earlier acceptances no longer count."""
    from pydantic import ValidationError

    from states.errors import FieldError, InvalidInput
    from states.lifecycle.amendments import TermsChange, amend_terms

    values = {
        "start": start,
        "end": end,
        "extent_percent": extent,
        "purpose": purpose,
        "development_plan": development_plan,
        "value_for_home": value_for_home,
        "value_for_host": value_for_host,
        "student_involvement": student_involvement,
        "funding_sek": funding,
    }
    try:
        changes = TermsChange.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise InvalidInput(
            [
                FieldError(
                    None,
                    ".".join(str(p) for p in e["loc"]) or "terms",
                    e["msg"].removeprefix("Value error, "),
                )
                for e in error.errors()
            ],
            source=reference,
        ) from None
    result = amend_terms(
        get_app().uow(),
        reference=reference,
        changes=changes,
        actor=actor(),
        via="cli",
        as_of=parse_as_of(as_of),
    )
    what = "agreement sent again to every party" if result.event == "amend" else "revised"
    typer.echo(f"{reference}  {result.to_state}  (version {result.version}): {what}")


person_app = typer.Typer(help="Personal data stored about a person.", no_args_is_help=True)


@person_app.command("export")
def person_export(
    email: str = typer.Argument(..., help="The person's email address."),
) -> None:
    """Print everything stored about a person as JSON (GDPR art. 15 and 20)."""
    from states.privacy.export import export_person

    print_json(export_person(get_app().reading(), email=email))


def purge(
    completed_before: str = typer.Option(
        ...,
        "--completed-before",
        help="Anonymise people of placements finished before this "
        "date (YYYY-MM-DD); it must lie outside the retention period.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be done; change nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_of: str | None = typer.Option(None, "--as-of", help="Now, for the retention period."),
) -> None:
    """Anonymise the people of old completed, declined, withdrawn and cancelled placements."""
    try:
        cutoff = date.fromisoformat(completed_before)
    except ValueError:
        raise typer.BadParameter(
            f"{completed_before!r} is not a date (YYYY-MM-DD)", param_hint="--completed-before"
        ) from None
    from notifications.mailbox import forget_people
    from states.privacy.purge import purge as run_purge

    app = get_app()
    result = run_purge(
        app.uow(),
        completed_before=cutoff,
        retention_days=app.settings.retention_days,
        as_of=parse_as_of(as_of),
        dry_run=dry_run,
    )
    # The development mail catcher's files hold the same people: they go too.
    caught = forget_people(app.settings.mail_dir, result.purged.values(), dry_run=dry_run)
    if as_json:
        print_json({**result.as_dict(), "caught_mail_deleted": caught})
    else:
        _say_purged(result, caught, dry_run=dry_run)
    if result.wal is not None and not result.wal.truncated:
        typer.echo(
            f"warning: the purge is committed, but {result.wal.path}-wal could not be emptied "
            f"({result.wal.frames} frames; another connection kept reading): the old values "
            "stay on disk until then; run `mobility purge` again when nothing else reads",
            err=True,
        )
        raise typer.Exit(4)
    if app.engine.dialect.name == "postgresql" and result.people and not dry_run:
        typer.echo(
            "note: PostgreSQL keeps the old row versions until VACUUM, and in its WAL and "
            "backups until they expire: see README, Personal data",
            err=True,
        )


def _say_purged(result: "PurgeResult", caught: int, *, dry_run: bool) -> None:
    verb = "would anonymise" if dry_run else "anonymised"
    typer.echo(
        f"{result.placements} placements finished before {result.finished_before}: {verb} "
        f"{len(result.people)} people ({result.kept} kept: still active, recent or "
        f"coordinating); {result.tokens_deleted} link tokens deleted, "
        f"{result.emails_scrubbed} emails emptied"
    )
    for column, rows in sorted(result.texts_scrubbed.items()):
        typer.echo(f"  {column}: {rows} rows scrubbed")
    if caught:
        typer.echo(
            f"  mail catcher: {caught} caught emails {'to delete' if dry_run else 'deleted'}"
        )
    if dry_run:
        typer.echo("dry run: nothing was changed")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("agreement")(agreement)
    app.command("amend")(amend)
    app.add_typer(person_app, name="person")
    app.command("purge")(purge)
