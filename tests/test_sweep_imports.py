"""What a sweep's process imports: the sweep's own modules, not those of documents it never
writes (the agreement's templates and Babel); the ``holidays`` library only once a year's
closed days are first worked out, not at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
import flows.sweep
import states.calendar.sweep
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_sweep_imports_no_babel_and_no_holidays() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = set(json.loads(probe.stdout.strip().splitlines()[-1]))
    assert "states" in loaded
    assert not loaded & {"babel", "holidays"}, sorted(loaded & {"babel", "holidays"})
