import typer

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply the migrations to MOBILITY_DATABASE_URL (creates a SQLite file if needed)."""
    from cli.common import get_app
    from models.migrate import current
    from models.migrate import upgrade as run_upgrade

    url = get_app().settings.resolved_database_url
    run_upgrade(url, revision)
    typer.echo(f"database at revision {current(url)}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
