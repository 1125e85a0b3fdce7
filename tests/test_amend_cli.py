"""`mobility amend`: a change of terms from the command line, and bad input as one line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import select

from models import OutboxMessage, Placement
from states.bootstrap import App
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example

ROOT = Path(__file__).resolve().parent.parent


def test_mobility_amend_sends_the_new_version_and_refuses_bad_input(
    app: App, tmp_path: Path
) -> None:
    load_examples(app)
    ref = propose_example(app)
    for role in ("home_manager", "host_contact"):
        apply_event(app.uow(), reference=ref, event="approve", role=role, actor=role, via="link")
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": str(app.engine.url),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
        "MOBILITY_ACTOR": "sara.lind@univ.example",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "amend", ref, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    done = run("--end", "2027-08-31", "--extent", "25")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("agreement sent again to every party")
    with app.reading() as uow:
        placement = uow.session.scalars(select(Placement)).one()
        assert (placement.end_date, placement.extent_percent, placement.agreement_version) == (
            date(2027, 8, 31),
            25,
            2,
        )
        requests = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "agreement_request")
        ).all()
        assert len(requests) == 6

    for args, message in (
        (("--extent", "0"), "extent_percent: Input should be greater than or equal to 1"),
        ((), "terms: name at least one term to change"),
        (("--end", "2027-13-01"), "end: Input should be a valid date"),
        (("--end", "2026-01-01"), "end: 2026-01-01 is not after the start 2027-02-01"),
    ):
        refused = run(*args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    with app.reading() as uow:
        assert uow.session.scalars(select(Placement)).one().agreement_version == 2
