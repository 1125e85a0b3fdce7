"""`mobility propose` of a CSV imports what registering it needs: not the agreement's rendering
(Jinja, Babel), the calendar of public holidays, a YAML parser or the other database's dialect.
Start-up is a good part of registering a file, and these were a tenth of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from models import Placement
from states.bootstrap import App
from states.intake.input_files import load_programme
from states.intake.registration import register_programme
from tests.conftest import EXAMPLES
from tests.test_input_files import CSV_HEADER, csv_row

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
from cli.main import main
sys.argv = ["mobility", "propose", sys.argv[1]]
try:
    main()
except SystemExit as exit_:
    assert not exit_.code, exit_.code
print(json.dumps(sorted(sys.modules)))
"""
NOT_FOR_A_CSV = (
    "jinja2",
    "babel",
    "holidays",
    "yaml",
    "prefect",
    "weasyprint",
    "sqlalchemy.dialects.postgresql",
)


def test_propose_of_a_csv_imports_nothing_it_does_not_use(tmp_path: Path, sqlite_app: App) -> None:
    programme, source = load_programme(EXAMPLES / "programme-paus.yaml")
    register_programme(sqlite_app.uow(), programme=programme, source=source)
    path = tmp_path / "proposals.csv"
    rows = [
        csv_row(participant_email=f"p{n}@univ.example", participant_name=f"P {n}") for n in range(3)
    ]
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={
            **os.environ,
            "MOBILITY_DATABASE_URL": sqlite_app.settings.database_url,
            "MOBILITY_VAR_DIR": str(sqlite_app.settings.var_dir),
            "MOBILITY_SECRET_KEY": "test-secret-key",
        },
    )
    assert probe.returncode == 0, probe.stderr
    modules = json.loads(probe.stdout.strip().splitlines()[-1])
    with sqlite_app.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Placement)) == 3
    loaded = [m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_FOR_A_CSV)]
    assert loaded == []
