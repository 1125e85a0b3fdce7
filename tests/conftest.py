"""Shared fixtures: a migrated SQLite file per test, and a PostgreSQL database per session when
``MOBILITY_TEST_POSTGRES_URL`` is set (created here, dropped afterwards)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from config import Settings
from models import Base
from models.migrate import upgrade
from states.bootstrap import App, bootstrap
from states.intake.input_files import load_programme, load_proposals
from states.intake.registration import register_programme, register_proposals
from tests.databases import scratch_postgres_database

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
POSTGRES_URL = os.environ.get("MOBILITY_TEST_POSTGRES_URL")

os.environ.setdefault(
    "PREFECT_HOME", str(Path(__file__).resolve().parent.parent / "var" / "prefect-test")
)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


# Under CI=true a test that cannot reach what it needs fails instead of skipping: a missing
# browser or database must not leave a guarantee unchecked while CI stays green.
CI = os.environ.get("CI", "").lower() == "true"
NEEDED_UNDER_CI = ("chromium", "postgresql")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if CI and report.skipped and not hasattr(report, "wasxfail"):  # type: ignore[attr-defined]
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)  # type: ignore[attr-defined]
        if any(needed in reason.lower() for needed in NEEDED_UNDER_CI):
            report.outcome = "failed"  # type: ignore[attr-defined]
            report.longrepr = f"CI=true: this skip is a failure here: {reason}"  # type: ignore[attr-defined]
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """Mark in the junit XML which tests used the PostgreSQL database (``.ci/run`` counts
    them), whether they asked for it by name or through ``any_app``."""
    request = getattr(item, "_request", None)
    if request is not None and "postgres_database" in request.fixturenames:
        item.user_properties.append(("database", "postgresql"))
    return (yield)


def make_app(url: str, var_dir: Path) -> App:
    settings = Settings(
        database_url=url,
        var_dir=var_dir,
        secret_key="test-secret-key",
        _env_file=None,  # type: ignore[call-arg]
    )
    return bootstrap(settings)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file (an Alembic run per test would cost seconds)."""
    from models.db import get_engine

    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    get_engine(url).dispose()  # the last connection to close folds the WAL into the file
    return path


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_template: Path) -> App:
    path = tmp_path / "mobility.db"
    shutil.copy(sqlite_template, path)
    return make_app(f"sqlite:///{path}", tmp_path / "var")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need MOBILITY_TEST_POSTGRES_URL")
    with scratch_postgres_database(POSTGRES_URL, prefix="mobility_test") as url:
        yield url


@pytest.fixture
def postgres_app(postgres_database: str, tmp_path: Path) -> App:
    app = make_app(postgres_database, tmp_path / "var")
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with app.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest) -> App:
    """The same test on SQLite and, when configured, on PostgreSQL."""
    fixture = "sqlite_app" if request.param == "sqlite" else "postgres_app"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture
def app(sqlite_app: App) -> App:
    return sqlite_app


def load_examples(app: App) -> None:
    for name in ("programme-affiliation.yaml", "programme-paus.yaml"):
        programme, source = load_programme(EXAMPLES / name)
        register_programme(app.uow(), programme=programme, source=source)


@pytest.fixture
def examples(app: App) -> App:
    load_examples(app)
    return app


def propose_example(app: App, *, draft: bool = False, as_of: datetime | None = None) -> str:
    """Register the example proposal (two approvers: home manager, host contact)."""
    proposals = load_proposals(EXAMPLES / "proposal.yaml")
    registered = register_proposals(
        app.uow(),
        proposals=proposals,
        actor="sara.lind@univ.example",
        via="cli",
        draft=draft,
        as_of=as_of or datetime(2026, 12, 1, 8, tzinfo=UTC),
    )
    return registered[0].reference
