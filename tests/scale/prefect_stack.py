"""A real Prefect deployment for the scale-out proof: `prefect server start` on a PostgreSQL
database of its own, the `mobility` process work pool, the deployments of prefect.yaml
registered with `prefect --no-prompt deploy --all`, and `prefect worker start` processes.

The server's scheduler service is off: the deployments keep their schedules as registered, but
runs are created by the proof with the simulated time as the ``as_of`` parameter — the only
way the workers learn it. The proof talks to the server's REST API with httpx.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.scale.processes import Processes

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


def prefect_environment(base: dict[str, str], *, home: Path, api_url: str) -> dict[str, str]:
    return {
        **base,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        # The client gives up on an unanswered API after its retries; the proof's own
        # timeouts are longer than the 60 s the server is stopped for.
        "PREFECT_CLIENT_MAX_RETRIES": "5",
    }


@dataclass
class PrefectStack:
    processes: Processes
    env: dict[str, str]
    port: int
    database_url: str
    """postgresql+asyncpg://… of the server's own database."""
    deployments: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start_server(self, *, timeout: float) -> float:
        """Start (or restart) the server; returns the seconds until it answered."""
        started = time.monotonic()
        env = {
            **self.env,
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            # Nor does the delivery's trigger (prefect.yaml): the driver starts every run
            # itself, with the simulated time as its as_of.
            "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
        }
        command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.processes.start("prefect-server", command, env=env, cwd=ROOT)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.processes.exited():
                raise AssertionError(f"the Prefect server exited: {self.processes.exited()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).json() is True:
                    return time.monotonic() - started
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"the Prefect server did not answer within {timeout:.0f} s")

    def stop_server(self) -> None:
        self.processes.stop("prefect-server")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def deploy(self) -> None:
        """The work pool, then every deployment of prefect.yaml, as an operator would."""
        pool = self.cli("work-pool", "create", "mobility", "--type", "process", "--overwrite")
        assert pool.returncode == 0, pool.stdout + pool.stderr
        deployed = self.cli("--no-prompt", "deploy", "--all")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        for flow, name in (("sweep", "sweep"), ("deliver-notifications", "deliver-notifications")):
            found = self._api("GET", f"/deployments/name/{flow}/{name}")
            assert found["work_pool_name"] == "mobility", found
            self.deployments[name] = found["id"]

    def start_workers(self, count: int, worker_env: dict[str, str]) -> None:
        for number in range(count):
            name = f"worker-{number}"
            command = [PREFECT, "worker", "start", "--pool", "mobility", "--name", name]
            self.processes.start(name, command, env=worker_env, cwd=ROOT)

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.api_url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def run(self, deployment: str, parameters: dict[str, Any]) -> str:
        """Create a run of ``deployment``; a worker picks it up. Returns the run's id."""
        created = self._api(
            "POST",
            f"/deployments/{self.deployments[deployment]}/create_flow_run",
            json={"parameters": parameters},
        )
        return str(created["id"])

    def state(self, run_id: str) -> tuple[str, str]:
        run = self._api("GET", f"/flow_runs/{run_id}")
        state = run.get("state") or {}
        return str(state.get("type", "PENDING")), str(state.get("message") or "")

    def wait(self, run_id: str, *, timeout: float) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state(run_id)
            if state[0] in FINAL:
                return state
            time.sleep(0.5)
        raise AssertionError(f"flow run {run_id} not finished after {timeout:.0f} s: {state}")

    def runs(self) -> list[dict[str, Any]]:
        """Every flow run the server knows, oldest first."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._api(
                "POST",
                "/flow_runs/filter",
                json={"sort": "EXPECTED_START_TIME_ASC", "limit": 200, "offset": len(found)},
            )
            found += page
            if len(page) < 200:
                return found
