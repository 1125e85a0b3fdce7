"""Done means 3: the follow-up of a programme of 500 placements built through the real
services, checked against figures computed here from the builder's own record."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models.migrate import upgrade
from reporting.tables import report_tables
from states.bootstrap import App
from states.followup.figures import MONEY_STATUS, build_report
from states.followup.rows import ProgrammeReport
from tests.conftest import make_app
from tests.programme_builder import PILOT_HOSTS, Built, build_programme, host_name

ROOT = Path(__file__).resolve().parent.parent
PLACEMENTS = 500
SOURCES = ("states", "models", "notifications", "tests/programme_builder.py", "config")


def _source_hash() -> str:
    """What the built database depends on: if any of it changes, it is built again."""
    digest = hashlib.sha256(str(PLACEMENTS).encode())
    for root in SOURCES:
        path = ROOT / root
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix in (".py", ".html", ".mako"):
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _store(cache: Path, path: Path, built: Built) -> None:
    """Keep the built database for the next run; written aside and renamed into place, so a
    concurrent session never reads half a file."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    for stale in cache.parent.iterdir():  # one built database is kept, the current one
        if not stale.name.startswith("."):
            shutil.rmtree(stale, ignore_errors=True)
    aside = cache.parent / f".{cache.name}.{os.getpid()}"
    aside.mkdir()
    shutil.copy(path, aside / "programme.db")
    (aside / "built.pickle").write_bytes(pickle.dumps(built))
    try:
        aside.rename(cache)
    except OSError:  # another session stored the same version first
        shutil.rmtree(aside, ignore_errors=True)


@pytest.fixture(scope="session")
def built_programme(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[App, Built]]:
    """500 placements, built once per source version (≈ 6 s CPU) and cached as a database
    file."""
    store = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    work = tmp_path_factory.mktemp("programme")
    cache = (Path(store.mkdir("programme-builder")) if store else work / "cache") / _source_hash()
    path = work / "programme.db"
    if (cache / "built.pickle").exists():
        shutil.copy(cache / "programme.db", path)
        built: Built = pickle.loads((cache / "built.pickle").read_bytes())
        app = make_app(f"sqlite:///{path}", work / "var")
    else:
        upgrade(f"sqlite:///{path}")
        app = make_app(f"sqlite:///{path}", work / "var")
        built = build_programme(app, n=PLACEMENTS)
        app.engine.dispose()  # fold the WAL into the file before copying it
        _store(cache, path, built)
    yield app, built
    app.engine.dispose()


@pytest.fixture(scope="session")
def report(built_programme: tuple[App, Built]) -> ProgrammeReport:
    app, built = built_programme
    return build_report(app.reading(), programme=built.programme, as_of=built.as_of)


def _days(later: object, earlier: object) -> float:
    return (later - earlier).total_seconds() / 86400  # type: ignore[operator]


def test_every_state_is_reached_and_the_funnel_matches(
    built_programme: tuple[App, Built], report: ProgrammeReport
) -> None:
    _, built = built_programme
    expected = Counter(r.target for r in built.records)
    assert report.placements == PLACEMENTS
    assert dict(report.funnel) == {state: expected[state] for state in report.funnel}
    assert all(report.funnel[state] > 0 for state in report.funnel)
    by_direction = Counter((r.direction, r.target) for r in built.records)
    by_host = Counter((r.host, r.target) for r in built.records)
    rows = report.funnel_by_group
    assert {
        (r.value, r.state): r.placements for r in rows if r.group == "direction"
    } == by_direction
    assert {
        (r.value, r.state): r.placements for r in rows if r.group == "host_organisation"
    } == by_host


def test_lead_times_median_and_90th_percentile(
    built_programme: tuple[App, Built], report: ProgrammeReport
) -> None:
    _, built = built_programme
    stages = {
        "proposal_to_approvals": [
            _days(r.approved_at, r.submitted_at)
            for r in built.records
            if r.approved_at and r.submitted_at
        ],
        "approvals_to_agreement": [
            _days(r.accepted_at, r.approved_at)
            for r in built.records
            if r.accepted_at and r.approved_at
        ],
        "proposal_to_agreement": [
            _days(r.accepted_at, r.submitted_at)
            for r in built.records
            if r.accepted_at and r.submitted_at
        ],
    }
    got = {t.stage: t for t in report.lead_times}
    for stage, days in stages.items():
        assert got[stage].placements == len(days) > 50
        assert got[stage].median_days == pytest.approx(np.median(days), abs=0.01)
        assert got[stage].p90_days == pytest.approx(np.percentile(days, 90), abs=0.01)


def test_rates_and_reasons(built_programme: tuple[App, Built], report: ProgrammeReport) -> None:
    _, built = built_programme
    submitted = [r for r in built.records if r.submitted_at]
    expected = {
        "submitted": (len(submitted), PLACEMENTS),
        "approved": (sum(r.approved_at is not None for r in submitted), len(submitted)),
        "changes_requested": (sum(r.changes_requested for r in submitted), len(submitted)),
        "declined": (sum(r.target == "declined" for r in submitted), len(submitted)),
        "withdrawn": (sum(r.target == "withdrawn" for r in submitted), len(submitted)),
        "cancelled": (sum(r.target == "cancelled" for r in submitted), len(submitted)),
        "agreement_accepted": (sum(r.accepted_at is not None for r in submitted), len(submitted)),
        "completed": (sum(r.target == "completed" for r in submitted), len(submitted)),
    }
    assert {r.measure: (r.placements, r.out_of) for r in report.rates} == expected
    rate = {r.measure: r.rate for r in report.rates}
    assert rate["declined"] == pytest.approx(expected["declined"][0] / len(submitted), abs=1e-4)
    reasons = Counter((r.reference, e, text) for r in built.records for e, text in r.reasons)
    assert Counter((r.reference, r.event, r.reason) for r in report.reasons) == reasons


def test_money_against_the_budget(
    built_programme: tuple[App, Built], report: ProgrammeReport
) -> None:
    _, built = built_programme
    by_status = Counter()
    for r in built.records:
        by_status[MONEY_STATUS[r.target]] += r.funding_sek
    money = report.money
    assert (money.budget_sek, money.committed_sek, money.pipeline_sek, money.released_sek) == (
        built.budget_sek,
        by_status["committed"],
        by_status["pipeline"],
        by_status["released"],
    )
    assert money.committed_share == pytest.approx(by_status["committed"] / built.budget_sek)
    assert {m.reference: m.funding_sek for m in report.money_by_placement} == {
        r.reference: r.funding_sek for r in built.records
    }


def test_network_first_time_and_returning_hosts(
    built_programme: tuple[App, Built], report: ProgrammeReport
) -> None:
    _, built = built_programme
    placements = Counter(r.host for r in built.records)
    assert {h.host_organisation: h.placements for h in report.hosts} == placements
    returning = {host_name(n) for n in range(PILOT_HOSTS)} & set(placements)
    assert {h.host_organisation for h in report.hosts if h.returning} == returning
    went_ahead = Counter(r.host for r in built.records if MONEY_STATUS[r.target] == "committed")
    assert {h.host_organisation: h.went_ahead for h in report.hosts} == {
        host: went_ahead[host] for host in placements
    }


def test_evaluation_results_per_question_and_role(
    built_programme: tuple[App, Built], report: ProgrammeReport
) -> None:
    _, built = built_programme
    answers = [(role, a) for r in built.records for role, a in r.answers.items()]
    for row in report.scores:
        values = [a[row.question] for role, a in answers if role == row.role and row.question in a]
        assert row.answers == len(values)
        assert row.mean == pytest.approx(np.mean(values), abs=0.01)
        assert [row.score_1, row.score_2, row.score_3, row.score_4, row.score_5] == [
            values.count(n) for n in range(1, 6)
        ]
    scored = {(r.role, r.question) for r in report.scores}
    assert ("participant", "programme_students") in scored
    assert ("host_contact", "programme_students") not in scored
    for row in report.yes_no:
        values = [a["again"] for role, a in answers if role == row.role]
        assert (row.answers, row.yes) == (len(values), sum(values))
    ticked = Counter((role, o) for role, a in answers for o in a.get("outcomes", []))
    assert {(r.role, r.option): r.ticked for r in report.options if r.ticked} == ticked
    texts = Counter(role for role, a in answers if "outcomes_text" in a)
    assert Counter(t.role for t in report.texts) == texts
    assert report.responses["evaluation"]["answered"] == len(answers)


def _is_png(path: Path) -> bool:
    import matplotlib.image

    with path.open("rb") as file:
        signature = file.read(8)
    image = matplotlib.image.imread(path)
    return signature == b"\x89PNG\r\n\x1a\n" and image.ndim == 3 and min(image.shape[:2]) > 100


def test_mobility_report_writes_markdown_csv_json_and_png(
    built_programme: tuple[App, Built],
    report: ProgrammeReport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    import cli.followup
    from cli.main import app as cli_app

    app, built = built_programme
    monkeypatch.setattr(cli.followup, "get_app", lambda: app)
    out = tmp_path / "report"
    done = CliRunner().invoke(
        cli_app, ["report", built.programme, "--out", str(out), "--as-of", built.as_of.isoformat()]
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"wrote 20 files to {out}")  # and report.xlsx
    markdown = (out / "report.md").read_text()
    for chart in ("funnel", "lead_times", "budget", "evaluation"):
        png = out / "charts" / f"{chart}.png"
        assert f"](charts/{chart}.png)" in markdown
        assert _is_png(png), chart
    data = json.loads((out / "report.json").read_text())
    assert data["summary"]["placements"] == PLACEMENTS
    assert data["summary"]["committed_sek"] == report.money.committed_sek
    funnel = Counter(r.target for r in built.records)
    assert {row["state"]: row["placements"] for row in data["tables"]["funnel"]} == {
        state: funnel[state] for state in report.funnel
    }
    tables = report_tables(report)
    json.dumps(tables)  # plain values all the way: Prefect table artifacts take them as they are
    for name, rows in tables.items():
        lines = (out / "csv" / f"{name}.csv").read_text().splitlines()
        assert len(lines) == len(rows) + 1, name
    # a Swedish programme: its report is written in Swedish, with the glossary's words
    assert "| Avslutad |" in markdown and f"{len(report.hosts)} värdorganisationer" in markdown


def test_mobility_report_to_stdout_in_each_format(
    built_programme: tuple[App, Built], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import cli.followup
    from cli.main import app as cli_app

    app, built = built_programme
    monkeypatch.setattr(cli.followup, "get_app", lambda: app)
    outputs = {}
    for fmt in ("md", "csv", "json"):
        done = CliRunner().invoke(cli_app, ["report", built.programme, "--format", fmt])
        assert done.exit_code == 0, done.output
        outputs[fmt] = done.stdout
    assert outputs["md"].startswith("# Uppföljning:")
    assert "# Per läge\nLäge;Placeringar\n" in outputs["csv"].replace("\r\n", "\n")
    assert json.loads(outputs["json"])["summary"]["placements"] == PLACEMENTS
    # the real command, for its one-line error
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": str(app.engine.url),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
    }
    unknown = subprocess.run(
        [sys.executable, "-m", "cli.main", "report", "no-such-programme"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: no programme 'no-such-programme'")
    assert "Traceback" not in unknown.stderr
