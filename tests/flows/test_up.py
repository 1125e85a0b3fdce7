"""``mobility up`` as a newcomer runs it: a subprocess with its own temporary directory. The web
app and the Prefect API answer, a registered proposal's approval emails arrive in the catcher
through the served deliver-notifications deployment, and SIGTERM leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from web.server import free_port

ROOT = Path(__file__).resolve().parents[2]
MOBILITY = str(Path(sys.executable).parent / "mobility")

pytestmark = pytest.mark.prefect


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(
    what: str,
    check: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 150.0,
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert process.poll() is None, f"mobility up exited:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} timed out:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc: parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_mobility_up_runs_the_stack_and_stops_cleanly(tmp_path: Path) -> None:
    web_port, prefect_port, catcher_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOBILITY_"))}
    env.update(
        {
            "MOBILITY_VAR_DIR": str(tmp_path / "var"),
            "MOBILITY_SECRET_KEY": "up-test-secret",
            "MOBILITY_CATCHER_PORT": str(catcher_port),
            "MOBILITY_BASE_URL": f"http://127.0.0.1:{web_port}",
            "PREFECT_HOME": str(tmp_path / "prefect"),
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        up = subprocess.Popen(
            [
                MOBILITY,
                "up",
                "--web-port",
                str(web_port),
                "--prefect-port",
                str(prefect_port),
                "--deliver-every",
                "3",
            ],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            "Prefect API", lambda: answers(f"http://127.0.0.1:{prefect_port}/api/health"), up, log
        )
        wait_for("web app", lambda: answers(f"http://127.0.0.1:{web_port}/healthz"), up, log)
        wait_for("announcement", lambda: b"Mobility Engine is up" in log.read_bytes(), up, log)

        def cli(*args: str) -> None:
            done = subprocess.run(
                [MOBILITY, *args],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr

        cli("programme", "add", str(ROOT / "examples" / "programme-affiliation.yaml"))
        cli("propose", str(ROOT / "examples" / "proposal.yaml"))
        mail_dir = tmp_path / "var" / "mail"
        wait_for(
            "two approval emails in the catcher",
            lambda: len(list(mail_dir.glob("*.eml"))) >= 2,
            up,
            log,
            timeout=120,
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/dev/mail", timeout=5) as page:
            listing = page.read().decode()
        assert "PL-2027-0001" in listing

        children = descendants(up.pid)
        assert len(children) >= 3  # prefect server, flow server, web app (and their helpers)
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=90) == 0, log.read_text()[-3000:]
        deadline = time.monotonic() + 10
        while any(running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in children if running(pid)] == []
        assert b"stopped" in log.read_bytes()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
