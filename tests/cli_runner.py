"""``mobility`` run in this process as the console script runs it (``cli.main.main``, with its
error handling), against a database of the test's own; and the row counts a refused file must
leave as they were."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.common import get_app
from cli.main import main
from config import get_settings
from models import (
    ActionToken,
    Approval,
    HistoryEntry,
    Organisation,
    OutboxMessage,
    Person,
    Placement,
    Programme,
)
from states.bootstrap import App

TABLES = (
    Placement,
    Person,
    Organisation,
    HistoryEntry,
    Approval,
    OutboxMessage,
    ActionToken,
    Programme,
)


def counts(app: App) -> dict[str, int]:
    with app.reading() as uow:
        return {
            table.__tablename__: uow.session.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def mobility_runner(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    database_url: str,
    work: Path,
) -> Callable[..., Run]:
    """``run("list", "--json")`` runs the command on ``database_url``, in ``work``."""
    monkeypatch.chdir(work)  # no stray .env
    monkeypatch.setenv("MOBILITY_DATABASE_URL", database_url)
    monkeypatch.setenv("MOBILITY_VAR_DIR", str(work / "var"))
    monkeypatch.setenv("MOBILITY_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("MOBILITY_ACTOR", "sara.lind@univ.example")
    monkeypatch.delenv("MOBILITY_DEBUG", raising=False)
    # As the console script runs it: plain click errors (cli.main turns rich off, but typer may
    # have been imported earlier in this test process).
    monkeypatch.setattr("typer.core.HAS_RICH", False)

    def run(*args: str) -> Run:
        get_settings.cache_clear()
        get_app.cache_clear()
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["mobility", *args])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def app_cli(
    any_app: App,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Callable[..., Run]]:
    """The command on ``any_app``'s database: SQLite, and PostgreSQL when configured."""
    yield mobility_runner(
        monkeypatch,
        capsys,
        database_url=any_app.engine.url.render_as_string(hide_password=False),
        work=tmp_path,
    )
    get_settings.cache_clear()
    get_app.cache_clear()
