"""``mobility demo`` runs to the end: real emails through the catcher, real link clicks, time
moved with as_of, every path of the lifecycle, and the report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

MOBILITY = str(Path(sys.executable).parent / "mobility")


def test_demo_walks_every_path_to_the_report(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOBILITY_"))}
    done = subprocess.run(
        [MOBILITY, "demo", "--var-dir", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for seen in (
        "manager_approval → proposal  [request_changes",  # changes requested
        "manager_approval → declined  [decline",  # a decline
        "agreement → placement  [accept",
        "Påminnelse: avtal att godkänna",  # a reminder email (Swedish)
        "1 placering väntar på åtgärd",  # the escalation digest
        "placement → evaluation  [end by sweep via flow]",
        "evaluation → completed  [answer",
        "evaluation → completed  [close by sweep via flow]",
        "Check-in: how is placement",  # English for the person who chose English
        "Where the programmes stand:",
    ):
        assert seen in out, seen
    assert out.count("✉ ") >= 40
    delivered = re.search(r"^(\d+) emails delivered, (\d+) state changes", out, re.MULTILINE)
    assert delivered is not None and int(delivered[1]) == out.count("✉ ")
    assert (tmp_path / "demo" / "demo.db").exists()
    assert len(list((tmp_path / "demo" / "mail").glob("*.eml"))) == out.count("✉ ")
