"""Done means 4: export everything about a person; purge old finished placements' people so
that no name or address of theirs remains anywhere, while the report's figures stay the same."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import ActionToken, Person, Placement
from reporting.tables import report_tables
from states.bootstrap import App
from states.errors import NotFound
from states.followup.figures import build_report
from states.lifecycle.transitions import apply_event
from states.privacy.export import export_person
from states.privacy.purge import InsideRetention, purge
from tests.conftest import load_examples, make_app, propose_example
from tests.programme_builder import Built, build_programme
from tests.test_report_programme import built_programme  # noqa: F401 - the shared fixture

ROOT = Path(__file__).resolve().parent.parent
LATER = datetime(2031, 1, 1, 9, tzinfo=UTC)
TEXT_FIELDS = {"reasons": "reason", "evaluation_texts": "text"}


@pytest.fixture
def built(app: App) -> Built:
    return build_programme(app, key="privacy-2027", n=60, seed=5)


@pytest.fixture
def built_any(any_app: App) -> tuple[App, Built]:
    """The same programme on SQLite and, when configured, on PostgreSQL."""
    return any_app, build_programme(any_app, key="privacy-2027", n=60, seed=5)


def _people(app: App) -> dict[int, tuple[str, str]]:
    with app.reading() as uow:
        return {p.id: (p.name, p.email) for p in uow.session.scalars(select(Person))}


def _figures(app: App, built: Built) -> dict[str, Any]:
    """The report's tables with the free texts set aside (they are scrubbed, not dropped)."""
    tables = report_tables(
        build_report(app.reading(), programme=built.programme, as_of=built.as_of)
    )
    for name, column in TEXT_FIELDS.items():
        tables[name] = [{k: v for k, v in row.items() if k != column} for row in tables[name]]
    return tables


def _everything_stored(app: App) -> list[tuple[str, str]]:
    """(table, value) of every column of every row of every table, whatever the ORM maps:
    on SQLite read with plain sqlite3 (BLOBs as their bytes), on PostgreSQL each row as
    ``row_to_json`` of the table's every column."""
    if app.engine.dialect.name == "postgresql":
        return _everything_stored_in_postgres(app)
    path = app.engine.url.database
    assert path is not None
    found = []
    with sqlite3.connect(path) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                found += [(table, _as_text(v)) for v in row if v is not None]
    return found


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _everything_stored_in_postgres(app: App) -> list[tuple[str, str]]:
    from sqlalchemy import text

    found = []
    with app.engine.connect() as connection:
        tables = connection.scalars(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ).all()
        assert "person" in tables and "outbox" in tables, tables
        for table in tables:
            rows = connection.scalars(text(f'SELECT row_to_json(t)::text FROM "{table}" AS t'))
            # JSON escapes non-ASCII; read it back so a name is found as it was written.
            found += [(table, json.dumps(json.loads(row), ensure_ascii=False)) for row in rows]
    return found


def _forms(name: str) -> set[str]:
    """A name as it may be stored: plain, lower case, and \\u-escaped inside JSON."""
    return {name.lower(), json.dumps(name)[1:-1].lower()}


def test_purge_leaves_no_name_or_address_and_the_same_figures(
    built_any: tuple[App, Built],
) -> None:
    app, built = built_any
    before_people = _people(app)
    figures = _figures(app, built)

    dry = purge(
        app.uow(), completed_before=date(2029, 1, 1), retention_days=365, as_of=LATER, dry_run=True
    )
    assert dry.people and dry.tokens_deleted > 0 and dry.emails_scrubbed > 0
    assert _people(app) == before_people  # a dry run changes nothing

    done = purge(app.uow(), completed_before=date(2029, 1, 1), retention_days=365, as_of=LATER)
    wal = {"wal_truncated": True} if app.engine.dialect.name == "sqlite" else {}
    assert done.as_dict() == {**dry.as_dict(), "dry_run": False, **wal}
    finished = [
        r for r in built.records if r.target in ("completed", "declined", "withdrawn", "cancelled")
    ]
    assert done.placements == len(finished)
    # every participant of a finished placement is gone (each has one placement) ...
    purged = {before_people[pid] for pid in done.people}
    assert {r.participant for r in finished} <= purged
    # ... and nobody with a placement still running is touched
    active = {r.participant for r in built.records if r not in finished}
    assert not active & purged
    assert all(email.endswith("@people.example") for _, email in purged)

    stored = _everything_stored(app)
    leftovers = [
        (table, term)
        for table, value in stored
        for name, email in purged
        for term in (_forms(name) | _forms(email))
        if term in value.lower()
    ]
    assert leftovers == []
    # the scrubbed texts are still there, with the stand-in
    assert any("Anonymised " in value for table, value in stored if table == "evaluation_response")
    with app.reading() as uow:
        assert (
            uow.session.scalar(
                select(func.count())
                .select_from(ActionToken)
                .where(ActionToken.person_id.in_(done.people))
            )
            == 0
        )
        anonymised = uow.session.scalars(select(Person).where(Person.id.in_(done.people))).all()
        assert all(p.email == f"anonymised-{p.id}@invalid" and p.anonymised_at for p in anonymised)

    assert _figures(app, built) == figures

    again = purge(app.uow(), completed_before=date(2029, 1, 1), retention_days=365, as_of=LATER)
    assert again.people == [] and again.texts_scrubbed == {}


def test_purge_refuses_a_date_inside_the_retention_period(app: App, built: Built) -> None:
    with pytest.raises(InsideRetention, match="inside the retention period of 1095 days"):
        purge(app.uow(), completed_before=date(2028, 6, 1), retention_days=1095, as_of=LATER)


def test_export_holds_everything_about_a_person(app: App, built: Built) -> None:
    record = next(r for r in built.records if r.target == "completed" and r.answers)
    name, email = record.participant
    data = export_person(app.reading(), email=email.upper())
    json.dumps(data)  # JSON all the way down
    assert data["person"]["name"] == name
    assert [(p["reference"], p["role"]) for p in data["placements"]] == [
        (record.reference, "participant")
    ]
    assert len(data["agreement_acceptances"]) == 1
    assert [r["answers"] for r in data["evaluation_responses"]] == (
        [record.answers["participant"]] if "participant" in record.answers else []
    )
    assert data["emails"] and all(m["to_email"] == email for m in data["emails"])
    assert data["link_tokens"] and all(
        "token_hash" not in t and "nonce" not in t for t in data["link_tokens"]
    )
    manager = export_person(app.reading(), email="mgr0001@people.example")
    assert len(manager["approvals"]) >= 1
    assert {p["role"] for p in manager["placements"]} == {"home_manager"}
    with pytest.raises(NotFound, match=r"no person with email nobody@x\.example"):
        export_person(app.reading(), email="nobody@x.example")


def test_purge_on_both_databases(any_app: App) -> None:
    """The scrubbing queries (LIKE on text, JSON values) on SQLite and PostgreSQL alike."""
    load_examples(any_app)
    ref = propose_example(any_app)
    apply_event(
        any_app.uow(),
        reference=ref,
        event="withdraw",
        actor="daniel.aberg@verktyg.example",
        via="cli",
        comment="Daniel Åberg got a new job",
        as_of=datetime(2026, 12, 2, tzinfo=UTC),
    )
    done = purge(any_app.uow(), completed_before=date(2027, 1, 1), retention_days=30, as_of=LATER)
    with any_app.reading() as uow:
        people = {p.email for p in uow.session.scalars(select(Person))}
        placement = uow.session.scalars(select(Placement)).one()
        assert placement.state == "withdrawn"
    # the coordinator is kept; the three people of the withdrawn placement are not
    assert len(done.people) == 3
    assert "daniel.aberg@verktyg.example" not in people
    assert "sara.lind@univ.example" in people
    assert done.texts_scrubbed.get("history.comment") == 1
    assert done.texts_scrubbed.get("history.actor") == 1


def test_cli_person_export_and_purge_dry_run(app: App, built: Built, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": str(app.engine.url),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
        "MOBILITY_RETENTION_DAYS": "30",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    email = built.records[0].participant[1]
    exported = run("person", "export", email)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["person"]["email"] == email
    inside = run("purge", "--completed-before", "2028-01-01")
    assert inside.returncode == 2
    assert "inside the retention period of 30 days" in inside.stderr
    dry = run("purge", "--completed-before", "2028-01-01", "--dry-run", "--as-of", "2031-01-01")
    assert dry.returncode == 0, dry.stderr
    assert "would anonymise" in dry.stdout and "dry run: nothing was changed" in dry.stdout
    assert _people(app)  # still there
    assert json.loads(run("person", "export", email).stdout)["person"]["email"] == email
    bad = run("purge", "--completed-before", "soon")
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_scrubbing_replaces_whole_names_and_addresses_only() -> None:
    from states.privacy.purge import _Scrubber

    scrub = _Scrubber({7: ("Anna Berg", "jan@x.example"), 8: ("Sean O'Neil", "s@y.example")})
    assert scrub.text("Anna Berg and Anna Bergström; ANNA BERG.") == (
        "Anonymised 7 and Anna Bergström; Anonymised 7."
    )
    assert scrub.text("mail jan@x.example, not marjan@x.example or jan@x.example.com") == (
        "mail anonymised-7@invalid, not marjan@x.example or jan@x.example.com"
    )
    assert scrub.text("<p>Sean O&#39;Neil</p>") == "<p>Anonymised 8</p>"
    assert scrub.data({"to": ["Anna Berg <jan@x.example>"], "n": 3}) == {
        "to": ["Anonymised 7 <anonymised-7@invalid>"],
        "n": 3,
    }


def test_purge_of_the_500_placement_programme(
    built_programme: tuple[App, Built],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """The same promise at the size of the report test, on a copy of its database."""
    source, built = built_programme
    copy = tmp_path / "copy.db"
    with sqlite3.connect(str(source.engine.url.database)) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # WAL included
    app = make_app(f"sqlite:///{copy}", tmp_path / "var")
    before_people = _people(app)
    figures = _figures(app, built)
    done = purge(app.uow(), completed_before=date(2029, 1, 1), retention_days=365, as_of=LATER)
    purged = {before_people[pid] for pid in done.people}
    assert len(purged) > 200
    terms = {t for name, email in purged for t in _forms(name) | _forms(email)}
    assert [
        (table, value)
        for table, value in _everything_stored(app)
        if any(term in value.lower() for term in terms)
    ] == []
    assert _figures(app, built) == figures
    app.engine.dispose()
