"""Roles from the programme file (issue 12): who coordinates a programme on the board, stored
with the programme by migration 0002."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from models.migrate import upgrade
from states.access import BoardUser, all_programme_access, may_see, visible_programmes
from states.bootstrap import App
from states.errors import InvalidInput
from states.intake.input_files import load_programme
from states.intake.registration import register_programme
from tests.conftest import EXAMPLES, POSTGRES_URL
from tests.databases import scratch_postgres_database

COORDINATORS = """
coordinators:
  emails: [Anna.Berg@Univ.Example, "per.nord@univ.example"]
  groups: ["0b6a2c4e-1111-4a4a-9c9c-123456789abc", /mobility/paus]
"""


def programme_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "programme.yaml"
    path.write_text((EXAMPLES / "programme-paus.yaml").read_text() + extra, encoding="utf-8")
    return path


def test_coordinators_from_the_programme_file_are_stored_and_see_it(
    any_app: App, tmp_path: Path
) -> None:
    programme, source = load_programme(programme_file(tmp_path, COORDINATORS))
    register_programme(any_app.uow(), programme=programme, source=source)
    [access] = all_programme_access(any_app.reading())
    assert access.emails == {
        "johan.ek@univ.example",
        "anna.berg@univ.example",
        "per.nord@univ.example",
    }
    assert access.groups == {"0b6a2c4e-1111-4a4a-9c9c-123456789abc", "/mobility/paus"}
    anna = BoardUser(email="anna.berg@univ.example", name="Anna", groups=frozenset(), admin=False)
    by_group = BoardUser(
        email="x@univ.example", name="X", groups=frozenset({"/mobility/paus"}), admin=False
    )
    assert may_see(anna, access) and may_see(by_group, access)
    assert [p.key for p in visible_programmes(any_app.reading(), anna)] == ["paus-2027"]


def test_without_coordinators_only_the_coordinator_sees_it(any_app: App, tmp_path: Path) -> None:
    programme, source = load_programme(programme_file(tmp_path, ""))
    register_programme(any_app.uow(), programme=programme, source=source)
    [access] = all_programme_access(any_app.reading())
    assert access.emails == {"johan.ek@univ.example"} and access.groups == frozenset()


def test_a_bad_coordinators_entry_is_named(tmp_path: Path) -> None:
    bad = "\ncoordinators:\n  emails: [not-an-address]\n  groups: ['']\n  roles: [x]\n"
    with pytest.raises(InvalidInput) as refused:
        load_programme(programme_file(tmp_path, bad))
    message = str(refused.value)
    for field in ("coordinators.emails.0", "coordinators.groups.0", "coordinators.roles"):
        assert field in message, message


def _programme_rows_after_upgrade(url: str) -> list[tuple[str, str, str]]:
    """Migrate to 0001, add a programme as 0001 knew it, migrate to the head."""
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO person (email, name, created_at) VALUES ('c@x.se', 'C', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO programme (key, name, direction, language, coordinator_id, "
                "budget_sek, approval_roles, agreement_template, agreement_parties, "
                "reminder_first_after, reminder_repeat_every, escalate_after, "
                "evaluation_respondents, evaluation_due_after, evaluation_questions, source, "
                "created_at, updated_at) VALUES ('old', 'Old', 'outgoing', 'sv', 1, 0, '[]', "
                "'secondment', '[]', 2, 2, 6, '[]', 10, '[]', '', :t, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT key, CAST(coordinator_emails AS TEXT), "
                "CAST(coordinator_groups AS TEXT) FROM programme"
            )
        ).all()
        sessions = connection.execute(text("SELECT count(*) FROM board_session")).scalar()
    engine.dispose()
    assert sessions == 0
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_migration_0002_keeps_existing_programmes_on_sqlite(tmp_path: Path) -> None:
    assert _programme_rows_after_upgrade(f"sqlite:///{tmp_path / 'old.db'}") == [
        ("old", "[]", "[]")
    ]


@pytest.mark.postgres
def test_migration_0002_keeps_existing_programmes_on_postgresql() -> None:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need MOBILITY_TEST_POSTGRES_URL")
    with scratch_postgres_database(POSTGRES_URL, prefix="mobility_board_migration") as url:
        admin = create_engine(url)
        with admin.begin() as connection:  # start again from nothing
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        admin.dispose()
        assert _programme_rows_after_upgrade(url) == [("old", "[]", "[]")]
