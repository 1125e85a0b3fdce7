"""Peak RSS of a sweep over 100,000 placements against the same process doing nothing.

Measured in fresh processes, each against its own floor: the ``sweep`` flow run, as a
worker's flow-run process runs it (Prefect's temporary API server runs in a process of its own
and is not counted), against a flow run that does nothing — the floor of any flow run (a bare
``import prefect`` is below what any flow run can reach); and the sweep service alone, as
``mobility run sweep`` runs it without a Prefect server, against the same imports and
bootstrap without the sweep. What the sweep adds must stay small whatever the placements held.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, Result, fresh_database
from bench.dataset import AS_OF, build

PLACEMENTS = 100_000

SWEEP = f"""
import asyncio
from datetime import datetime
from flows.sweep import sweep
asyncio.run(sweep(as_of=datetime.fromisoformat({AS_OF.isoformat()!r})))
"""
SERVICE = f"""
from datetime import datetime
from states.bootstrap import bootstrap
from states.calendar.sweep import run_sweep
run_sweep(bootstrap().uow, as_of=datetime.fromisoformat({AS_OF.isoformat()!r}))
"""
SERVICE_FLOOR = """
from states.bootstrap import bootstrap
from states.calendar.sweep import run_sweep
bootstrap()
"""
NOOP_FLOW = """
import asyncio
from prefect import flow
@flow
async def noop() -> None: ...
asyncio.run(noop())
"""


def peak_rss_mib(code: str, env: dict[str, str]) -> float:
    """Run ``python -c code`` and return its own peak resident set size in MiB.

    Read from the process's VmHWM at exit (printed on stderr; what the code prints on stdout is
    dropped): ``ru_maxrss`` from ``wait4`` would carry over the peak of this (large) parent
    across fork and exec."""
    report = (
        "\nimport sys"
        "\nprint('VmHWM', open('/proc/self/status').read().split('VmHWM:')[1].split()[0],"
        " file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code + report],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the measured process failed:\n{result.stderr[-2000:]}")
    kib = next(line.split()[1] for line in result.stderr.splitlines() if line.startswith("VmHWM "))
    return int(kib) / 1024


def run(backend: str) -> list[Result]:
    home = Path(tempfile.mkdtemp(prefix="mobility-bench-prefect-"))
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # The temporary API server (a process of its own) starts slowly on a loaded machine;
        # its 20-second default failed the run there. Its start is not what is measured.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PREFECT_API_URL", None)
    bare = peak_rss_mib("import prefect", env)
    floor = peak_rss_mib(NOOP_FLOW, env)
    with fresh_database(backend) as url:
        build(url, total=PLACEMENTS)
        app_env = {
            **env,
            "MOBILITY_DATABASE_URL": url,
            "MOBILITY_SECRET_KEY": "bench-secret",
            "MOBILITY_VAR_DIR": str(home / "var"),
        }
        flow_run = peak_rss_mib(SWEEP, app_env)
        service = peak_rss_mib(SERVICE, app_env)
        service_floor = peak_rss_mib(SERVICE_FLOOR, app_env)
    return [
        Result(
            "memory: sweep flow run",
            backend,
            flow_run,
            floor,
            "MiB",
            "≤ 1.2× an empty flow run",
            False,
            lambda ratio: ratio <= 1.2,
            note=f"a bare `import prefect` peaks at {bare:.0f} MiB",
        ),
        Result(
            "memory: sweep service",
            backend,
            service,
            service_floor,
            "MiB",
            "≤ 1.2× bootstrap alone",
            False,
            lambda ratio: ratio <= 1.2,
            note="`mobility run sweep` without a Prefect server",
        ),
    ]
