"""The migrations are one line of history and build exactly the tables the models declare."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from models import Base
from models.db import get_engine
from models.migrate import alembic_config, current
from states.bootstrap import App


def test_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_models_match_migrations(sqlite_template: Path) -> None:
    engine = get_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_latest_migration_goes_down_and_up(any_app: App) -> None:
    """The newest revision can be undone and redone on both databases (``any_app`` is
    migrated to the head already)."""
    url = any_app.settings.database_url
    any_app.engine.dispose()
    config = alembic_config(url)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    command.downgrade(config, "-1")
    assert current(url) != head
    command.upgrade(config, "head")
    assert current(url) == head
