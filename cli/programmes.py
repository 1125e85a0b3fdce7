from pathlib import Path

import typer

programme_app = typer.Typer(
    help="Programmes: their rules for approvals, reminders, evaluation.", no_args_is_help=True
)


@programme_app.command("add")
def add(file: Path = typer.Argument(..., help="A programme file (YAML).")) -> None:
    """Register a programme, or update it if its key exists."""
    from cli.common import get_app
    from states.intake.input_files import load_programme
    from states.intake.registration import register_programme

    programme, text = load_programme(file)
    key, created = register_programme(get_app().uow(), programme=programme, source=text)
    typer.echo(f"{'created' if created else 'updated'} programme {key}")


@programme_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the programmes."""
    from cli.common import get_app, print_json, print_table
    from states.lifecycle.queries import list_programmes

    programmes = list_programmes(get_app().reading())
    if as_json:
        print_json([p.model_dump(mode="json") for p in programmes])
        return
    print_table(
        ["KEY", "NAME", "DIRECTION", "COORDINATOR", "BUDGET SEK", "PLACEMENTS"],
        [
            [p.key, p.name, p.direction, p.coordinator.email, p.budget_sek, p.placements]
            for p in programmes
        ],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(programme_app, name="programme")
