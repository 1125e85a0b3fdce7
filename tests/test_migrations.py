"""The migrations are one line of history and build exactly the tables the models declare."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from models import Base
from models.db import get_engine
from models.migrate import alembic_config


def test_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_models_match_migrations(sqlite_template: Path) -> None:
    engine = get_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []
