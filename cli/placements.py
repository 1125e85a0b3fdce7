from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import actor, announce_queued_mail, get_app, print_json, print_table

if TYPE_CHECKING:
    from models.schemas import PlacementSummary


def propose(
    file: Path = typer.Argument(
        ..., help="Proposals: YAML (one or a list), CSV (comma, semicolon or tab) or .xlsx."
    ),
    draft: bool = typer.Option(False, "--draft", help="Register without submitting."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register placement proposals; all rows or none. Submits them unless --draft."""
    from states.intake.input_files import ProposalFile
    from states.intake.registration import register_proposal_batches

    proposals = ProposalFile(file)
    registered = register_proposal_batches(
        get_app().uow(),
        batches=proposals.batches(),
        actor=actor(),
        via="cli",
        draft=draft,
        source=proposals.source,
    )
    announce_queued_mail()
    if as_json:
        print_json(
            [{"reference": r.reference, "state": r.state, "created": r.created} for r in registered]
        )
        return
    for r in registered:
        note = "" if r.created else "  (already registered)"
        typer.echo(f"{r.reference}  {r.state}{note}")


def list_(
    state: str | None = typer.Option(None, "--state", help="Only placements in this state."),
    programme: str | None = typer.Option(None, "--programme", help="Only this programme (key)."),
    direction: str | None = typer.Option(
        None, "--direction", help="Only this direction: incoming or outgoing."
    ),
    overdue: bool = typer.Option(
        False, "--overdue", help="Only those waiting past the programme's reminder threshold."
    ),
    by_waiting: bool = typer.Option(False, "--by-waiting", help="Longest waiting first."),
    as_of: str | None = typer.Option(None, "--as-of", help="Count waits up to this ISO date/time."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List placements: state, who holds them up, since when, overdue."""
    from cli.common import parse_as_of
    from states.lifecycle.queries import list_placements

    placements = list_placements(
        get_app().reading(),
        as_of=parse_as_of(as_of),
        state=state,
        programme=programme,
        direction=direction,
        overdue=overdue,
        order="waiting" if by_waiting else "reference",
    )
    if as_json:
        print_json([p.model_dump(mode="json") for p in placements])
        return
    print_table(
        ["REFERENCE", "PROGRAMME", "STATE", "PARTICIPANT", "HOST", "WAITING FOR", "SINCE", "DAYS"],
        [
            [
                p.reference,
                p.programme,
                p.state,
                p.participant,
                p.host_organisation,
                "; ".join(p.waiting_for),
                p.waiting_since or "",
                "" if p.business_days_waiting is None else _days(p),
            ]
            for p in placements
        ],
    )


def _days(p: "PlacementSummary") -> str:
    """Business days waited, marked past the reminder (!) and escalation (!!) thresholds."""
    marks = "!!" if p.past_escalation else "!" if p.overdue else ""
    return f"{p.business_days_waiting}{marks}"


def show(
    reference: str = typer.Argument(..., help="Placement reference, e.g. PL-2027-0001."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one placement whole, with its approvals and history."""
    from states.lifecycle.queries import get_placement

    detail = get_placement(get_app().reading(), reference=reference)
    if as_json:
        print_json(detail.model_dump(mode="json"))
        return
    typer.echo(f"{detail.reference}  {detail.state}  (version {detail.version})")
    typer.echo(f"  programme     {detail.programme} ({detail.direction})")
    typer.echo(
        f"  {_label('participant'):<14}{detail.participant.name} <{detail.participant.email}>, "
        f"{detail.home_organisation}"
    )
    typer.echo(
        f"  {_label('home_manager'):<14}{detail.home_manager.name} <{detail.home_manager.email}>"
    )
    typer.echo(
        f"  host          {detail.host_organisation}: {detail.host_contact.name} "
        f"<{detail.host_contact.email}>"
    )
    typer.echo(f"  period        {detail.start} – {detail.end}, {detail.extent_percent} %")
    typer.echo(f"  purpose       {detail.purpose}")
    if detail.approvals:
        typer.echo("  approvals")
        for a in detail.approvals:
            typer.echo(
                f"    round {a.round}  {_label(a.role):<13} {a.person.name:<24} "
                f"{_status(a.status)}{'  – ' + a.comment if a.comment else ''}"
            )
    if detail.acceptances:
        typer.echo("  agreement")
        for c in detail.acceptances:
            typer.echo(
                f"    v{c.agreement_version}  {_label(c.role):<13} {c.person.name:<24} "
                f"{_status(c.status)}"
            )
    typer.echo("  history")
    for h in detail.history:
        typer.echo(
            f"    {h.at:%Y-%m-%d %H:%M}  {h.event:<16} {h.from_state or '-'} → "
            f"{h.to_state}  by {h.actor} via {h.via}"
            f"{'  – ' + h.comment if h.comment else ''}"
        )


def _label(role: str) -> str:
    """ "home manager": the role's label (states.glossary), as the CLI writes it."""
    from states.glossary import words

    return words("en").role_title(role).lower()


def _status(status: str) -> str:
    """ "changes requested", "no longer asked": what a step row says (states.glossary)."""
    from states.glossary import words

    return words("en").row_status(status)


def _apply(reference: str, event: str, reason: str | None, as_of: str | None) -> None:
    from cli.common import parse_as_of
    from states.lifecycle.transitions import apply_event

    result = apply_event(
        get_app().uow(),
        reference=reference,
        event=event,
        actor=actor(),
        via="cli",
        comment=reason,
        as_of=parse_as_of(as_of),
    )
    announce_queued_mail()
    typer.echo(f"{result.reference}: {result.from_state} → {result.to_state}")


def submit(
    reference: str = typer.Argument(..., help="Placement reference."),
    as_of: str | None = typer.Option(None, "--as-of", help="Act as of this ISO date/time."),
) -> None:
    """Submit a draft (or a revised) proposal for manager approval."""
    _apply(reference, "submit", None, as_of)


def withdraw(
    reference: str = typer.Argument(..., help="Placement reference."),
    reason: str = typer.Option(..., "--reason", help="Why (shown to the people involved)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Act as of this ISO date/time."),
) -> None:
    """Withdraw a placement before it starts."""
    _apply(reference, "withdraw", reason, as_of)


def cancel(
    reference: str = typer.Argument(..., help="Placement reference."),
    reason: str = typer.Option(..., "--reason", help="Why (shown to the people involved)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Act as of this ISO date/time."),
) -> None:
    """Cancel a placement that has started."""
    _apply(reference, "cancel", reason, as_of)


def diagram(
    fmt: str = typer.Option("mermaid", "--format", help="mermaid or dot."),
) -> None:
    """Print the placement state machine as a Mermaid or Graphviz DOT diagram."""
    from states.lifecycle.diagram import render

    typer.echo(render(fmt), nl=False)


def register(app: typer.Typer) -> None:
    app.command("propose")(propose)
    app.command("list")(list_)
    app.command("show")(show)
    app.command("submit")(submit)
    app.command("withdraw")(withdraw)
    app.command("cancel")(cancel)
    app.command("diagram")(diagram)
