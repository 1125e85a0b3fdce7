"""The ``mobility`` command: what each command prints, and that errors are a line or three.

Most commands run in this process through ``cli.main.main`` (the console script's entry point,
with its error handling), against a migrated SQLite file of the test's own; the import checks
and one end-to-end error run the real console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.common import get_app
from config import get_settings
from states.bootstrap import App
from states.lifecycle.transitions import apply_event
from tests.cli_runner import Run, mobility_runner
from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_SCRIPT = Path(sys.executable).parent / "mobility"
# Not pydantic: typer 0.29 itself imports it to coerce the parameters of a subcommand.
HEAVY = (
    "prefect",
    "sqlalchemy",
    "fastapi",
    "alembic",
    "jinja2",
    "babel",
    "holidays",
    "aiosmtplib",
    "statemachine",
    "yaml",
    "psycopg",
    "uvicorn",
    "matplotlib",
)


@pytest.fixture
def cli(
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Run]:
    """``cli("list", "--json")`` runs the command as the console script would."""
    database = tmp_path / "mobility.db"
    database.write_bytes(sqlite_template.read_bytes())
    yield mobility_runner(  # type: ignore[misc]
        monkeypatch, capsys, database_url=f"sqlite:///{database}", work=tmp_path
    )
    get_settings.cache_clear()
    get_app.cache_clear()


@pytest.fixture
def loaded(cli: Callable[..., Run]) -> Callable[..., Run]:
    for name in ("programme-affiliation.yaml", "programme-paus.yaml"):
        assert cli("programme", "add", str(EXAMPLES / name)).code == 0
    return cli


def assert_short_error(run: Run, *words: str) -> None:
    """Non-zero, one to three lines on stderr, nothing that looks like a traceback."""
    assert run.code != 0, run
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, run.err
    assert "Traceback" not in run.err + run.out
    for word in words:
        assert word in run.err, run.err


# --- --help imports nothing heavy ------------------------------------------------------------

HELP_PROBE = """
import json, sys
from typer.main import get_command
from cli.main import app, main
names = [[]] + [[name] for name in get_command(app).commands]
for args in names:
    sys.argv = ["mobility", *args, "--help"]
    try:
        main()
    except SystemExit:
        pass
print(json.dumps({"commands": [a[0] for a in names if a],
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_help_of_every_command_imports_no_prefect() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", HELP_PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert {"db", "programme", "propose", "list", "show", "withdraw", "cancel", "diagram"} <= set(
        report["commands"]
    )
    loaded = set(report["modules"])
    assert "prefect" not in loaded
    # Not even the database layer: --help stays instant.
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_console_script_helps_without_prefect() -> None:
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", str(CONSOLE_SCRIPT), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert probe.returncode == 0
    assert "Usage: mobility" in probe.stdout
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in probe.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "prefect" not in imported and "sqlalchemy" not in imported


# --- programmes ------------------------------------------------------------------------------


def test_programme_add_and_list(cli: Callable[..., Run]) -> None:
    added = cli("programme", "add", str(EXAMPLES / "programme-paus.yaml"))
    assert (added.code, added.out) == (0, "created programme paus-2027\n")
    again = cli("programme", "add", str(EXAMPLES / "programme-paus.yaml"))
    assert again.out == "updated programme paus-2027\n"
    table = cli("programme", "list")
    assert table.code == 0
    assert table.out.splitlines()[0].split() == [
        "KEY",
        "NAME",
        "DIRECTION",
        "COORDINATOR",
        "BUDGET",
        "SEK",
        "PLACEMENTS",
    ]
    assert "paus-2027" in table.out.splitlines()[2]
    [programme] = cli("programme", "list", "--json").json()  # type: ignore[misc]
    assert programme["key"] == "paus-2027"
    assert programme["coordinator"]["email"] == "johan.ek@univ.example"
    assert programme["approvals"] == ["home_manager", "host_contact"]
    assert programme["placements"] == 0


# --- proposals and placements ----------------------------------------------------------------


def test_propose_json_is_a_list_of_reference_and_state(loaded: Callable[..., Run]) -> None:
    run = loaded("propose", str(EXAMPLES / "proposals.csv"), "--json")
    assert run.code == 0
    data = run.json()
    assert [{k: d[k] for k in ("reference", "state")} for d in data] == [  # type: ignore[union-attr]
        {"reference": "PL-2027-0001", "state": "manager_approval"},
        {"reference": "PL-2027-0002", "state": "manager_approval"},
    ]
    plain = loaded("propose", str(EXAMPLES / "proposals.csv"))
    assert plain.out.splitlines() == [
        "PL-2027-0001  manager_approval  (already registered)",
        "PL-2027-0002  manager_approval  (already registered)",
    ]
    draft = loaded("propose", str(EXAMPLES / "proposal.yaml"), "--draft", "--json")
    assert draft.json() == [{"reference": "PL-2027-0003", "state": "proposal", "created": True}]


def test_list_filters_by_state_and_programme(loaded: Callable[..., Run]) -> None:
    loaded("propose", str(EXAMPLES / "proposals.csv"))
    loaded("propose", str(EXAMPLES / "proposal.yaml"), "--draft")
    table = loaded("list")
    assert table.code == 0
    assert table.out.splitlines()[0].split()[:3] == ["REFERENCE", "PROGRAMME", "STATE"]
    assert len(table.out.splitlines()) == 2 + 3

    def refs(*args: str) -> list[str]:
        run = loaded("list", "--json", *args)
        assert run.code == 0, run.err
        return [p["reference"] for p in run.json()]  # type: ignore[union-attr]

    assert refs() == ["PL-2027-0001", "PL-2027-0002", "PL-2027-0003"]
    assert refs("--state", "proposal") == ["PL-2027-0003"]
    assert refs("--programme", "paus-2027") == ["PL-2027-0001", "PL-2027-0002"]
    assert refs("--programme", "paus-2027", "--state", "proposal") == []
    first = loaded("list", "--json", "--state", "manager_approval").json()[0]  # type: ignore[index]
    assert first["waiting_for"] == ["home_manager: Per Nilsson", "host_contact: Lena Ström"]


def test_show_json_has_the_placement_and_its_history(loaded: Callable[..., Run]) -> None:
    loaded("propose", str(EXAMPLES / "proposal.yaml"))
    data = loaded("show", "PL-2027-0001", "--json").json()
    assert isinstance(data, dict)
    assert {"reference", "state", "programme", "participant", "approvals", "history"} <= set(data)
    assert (data["reference"], data["state"]) == ("PL-2027-0001", "manager_approval")
    assert data["programme"] == "affilierad-kompetens-2027"
    assert data["participant"]["email"] == "daniel.aberg@verktyg.example"
    assert [(a["role"], a["decision"]) for a in data["approvals"]] == [
        ("home_manager", None),
        ("host_contact", None),
    ]
    assert [(h["event"], h["from_state"], h["to_state"]) for h in data["history"]] == [
        ("register", None, "proposal"),
        ("submit", "proposal", "manager_approval"),
    ]
    for entry in data["history"]:
        assert {"event", "from_state", "to_state", "actor", "via", "at"} <= set(entry)
        assert (entry["actor"], entry["via"]) == ("sara.lind@univ.example", "cli")
        assert datetime.fromisoformat(entry["at"]).tzinfo is not None  # an aware time
    text = loaded("show", "PL-2027-0001")
    assert text.out.startswith("PL-2027-0001  manager_approval  (version 2)")
    assert "register" in text.out and "Eva Holm" in text.out


def test_show_of_a_withdrawn_placement_waits_for_nobody(loaded: Callable[..., Run]) -> None:
    """Withdrawn during manager approval: neither approver is "waiting" any more."""
    loaded("propose", str(EXAMPLES / "proposal.yaml"))
    loaded("withdraw", "PL-2027-0001", "--reason", "the host reorganises")
    text = loaded("show", "PL-2027-0001").out
    approvals = text.split("  approvals\n")[1].split("  history")[0].splitlines()
    assert len(approvals) == 2
    assert all(line.endswith("no longer asked") for line in approvals), approvals
    assert "waiting" not in text
    assert "home manager" in approvals[0] and "host contact" in approvals[1]
    data = loaded("show", "PL-2027-0001", "--json").json()
    assert [a["status"] for a in data["approvals"]] == ["no_longer_asked"] * 2  # type: ignore[index]


def test_remind_now_from_the_command_line(loaded: Callable[..., Run]) -> None:
    loaded("propose", str(EXAMPLES / "proposal.yaml"))
    run = loaded("remind", "PL-2027-0001")
    assert run.code == 0, run
    assert "reminder queued for home_manager" in run.out
    assert "reminder queued for host_contact" in run.out
    loaded("withdraw", "PL-2027-0001", "--reason", "the host reorganises")
    assert_short_error(loaded("remind", "PL-2027-0001"), "nobody has a step to be reminded of")


def test_withdraw_and_cancel_with_a_reason(loaded: Callable[..., Run]) -> None:
    loaded("propose", str(EXAMPLES / "proposals.csv"))
    run = loaded("withdraw", "PL-2027-0001", "--reason", "the host reorganises")
    assert (run.code, run.out) == (0, "PL-2027-0001: manager_approval → withdrawn\n")
    history = loaded("show", "PL-2027-0001", "--json").json()["history"]  # type: ignore[index]
    assert history[-1]["event"] == "withdraw" and history[-1]["via"] == "cli"

    # Bring the second one into its placement through the service, then cancel it.
    app = get_app()
    _into_placement(app, "PL-2027-0002")
    early = loaded("cancel", "PL-2027-0002", "--reason", "ill", "--as-of", "2027-02-01")
    assert_short_error(early, "has not started yet (2027-04-01); withdraw it instead")
    run = loaded("cancel", "PL-2027-0002", "--reason", "ill", "--as-of", "2027-04-02T10:00")
    assert (run.code, run.out) == (0, "PL-2027-0002: placement → cancelled\n")


def _into_placement(app: App, ref: str) -> None:
    at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    for role in ("home_manager", "host_contact"):
        apply_event(
            app.uow(), reference=ref, event="approve", role=role, actor=role, via="link", as_of=at
        )
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            app.uow(), reference=ref, event="accept", role=role, actor=role, via="link", as_of=at
        )


def test_diagram_in_both_formats(cli: Callable[..., Run]) -> None:
    from states.lifecycle.diagram import dot, mermaid

    mermaid_run = cli("diagram", "--format", "mermaid")
    assert mermaid_run.out == mermaid() == cli("diagram").out
    assert mermaid_run.out.startswith("stateDiagram-v2")
    dot_run = cli("diagram", "--format", "dot")
    assert dot_run.out == dot()
    assert dot_run.out.startswith("digraph PlacementMachine {")
    assert "placement -> cancelled" in dot_run.out
    assert_short_error(cli("diagram", "--format", "png"), "unknown format 'png'")


# --- errors: short, non-zero, no traceback ---------------------------------------------------


def test_a_bad_file_is_named_with_its_errors(loaded: Callable[..., Run], tmp_path: Path) -> None:
    missing = loaded("propose", str(tmp_path / "nope.yaml"))
    assert_short_error(missing, "nope.yaml: 1 error, nothing was created", "file: not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("programme: paus-2027\nextent_percent: 0\n", encoding="utf-8")
    run = loaded("propose", str(bad))
    # Every missing field is listed (more than three lines is right here: one per problem).
    assert run.code != 0 and "Traceback" not in run.err
    assert run.err.splitlines()[0].startswith(f"error: {bad}: ")
    assert "  row 1, extent_percent: Input should be greater than or equal to 1" in run.err
    assert loaded("list", "--json").json() == []


def test_unknown_reference(loaded: Callable[..., Run]) -> None:
    assert_short_error(loaded("show", "PL-2099-0001"), "no placement with reference PL-2099-0001")
    assert_short_error(loaded("withdraw", "PL-2099-0001", "--reason", "x"), "PL-2099-0001")


def test_illegal_transition(loaded: Callable[..., Run]) -> None:
    loaded("propose", str(EXAMPLES / "proposal.yaml"))
    loaded("withdraw", "PL-2027-0001", "--reason", "no time")
    run = loaded("withdraw", "PL-2027-0001", "--reason", "again")
    assert_short_error(run, "PL-2027-0001 is withdrawn; it can no longer be withdrawn")
    assert run.err.strip().count("\n") == 0


def test_missing_reason_and_bad_options(loaded: Callable[..., Run]) -> None:
    assert_short_error(loaded("withdraw", "PL-2027-0001"), "Missing option '--reason'")
    assert_short_error(loaded("list", "--state", "bogus"), "unknown state 'bogus'")
    assert_short_error(
        loaded("cancel", "PL-2027-0001", "--reason", "x", "--as-of", "soon"), "is not an ISO date"
    )


def test_a_database_never_migrated(
    cli: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOBILITY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert_short_error(cli("list"), "no such table", "mobility db upgrade")
    upgraded = cli("db", "upgrade")
    assert upgraded.code == 0 and upgraded.out.startswith("database at revision")
    assert cli("list", "--json").json() == []


def test_console_script_error_end_to_end(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
        "MOBILITY_SECRET_KEY": "k",
    }
    env.pop("MOBILITY_DEBUG", None)
    run = subprocess.run(
        [str(CONSOLE_SCRIPT), "show", "PL-2027-0001"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert_short_error(
        Run(run.returncode, run.stdout, run.stderr), "error: the database cannot be used"
    )
