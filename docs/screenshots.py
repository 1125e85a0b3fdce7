"""Shoot the Prefect console as ops see it: ``make screenshots`` (needs Debian's Chromium).

Runs ``mobility up`` in a temporary directory (its own Prefect server, the mail catcher), then
plays half an hour of a programme's morning in a few minutes: the example proposals are
registered, and every simulated two minutes someone presses the button in the newest link
email (approve, accept). Every press that queues mail is one batch; the delivery's trigger
should start one run for each, and nothing else should (the safety-net schedule is 15 min).
Then it counts the delivery runs against the batches (``mobility.outbox.queued`` events),
fails if there are more runs than batches plus the one safety-net run at start, and saves
``docs/prefect-runs.png`` (the Runs page) and ``docs/prefect-run-form.png`` (a deployment's
run form).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web.server import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MOBILITY = str(Path(sys.executable).parent / "mobility")
CHROMIUM = "/usr/bin/chromium"
SIMULATED_MINUTES = 30
MINUTE = 2.0  # real seconds per simulated minute: decisions are people, seconds apart
DECISIONS = {"approval": "approve", "agreement": "accept"}


def wait_for(what: str, check: Callable[[], bool], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)


class Console:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.web, self.prefect, self.catcher = free_port(), free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.prefect}/api"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOBILITY_"))
        }
        self.env.update(
            {
                "MOBILITY_VAR_DIR": str(tmp / "var"),
                "MOBILITY_SECRET_KEY": "screenshots",
                "MOBILITY_CATCHER_PORT": str(self.catcher),
                "MOBILITY_BASE_URL": f"http://127.0.0.1:{self.web}",
                "MOBILITY_OPS_EMAIL": "ops@univ.example",
                "PREFECT_HOME": str(tmp / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
            }
        )
        self.used: set[str] = set()

    def cli(self, *args: str) -> None:
        done = subprocess.run(
            [MOBILITY, *args], cwd=self.tmp, env={**self.env, "PREFECT_API_URL": self.api},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"mobility {' '.join(args)}: {done.stderr}")

    def press_newest_button(self) -> bool:
        """Open the newest unused link whose step has a one-button decision, and press it."""
        from notifications.mailbox import list_mail

        for mail in list_mail(self.tmp / "var" / "mail"):
            for link in mail.links:
                if "/l/" not in link or link in self.used:
                    continue
                self.used.add(link)
                with urllib.request.urlopen(link, timeout=10) as page:
                    html = page.read().decode()
                decision = next((d for d in DECISIONS.values() if f'value="{d}"' in html), None)
                if decision is None:
                    continue
                body = urllib.parse.urlencode({"decision": decision}).encode()
                with urllib.request.urlopen(urllib.request.Request(link, data=body), timeout=10):
                    return True
        return False


async def count_runs_and_batches(api: str) -> tuple[list[Any], int]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.events.filters import EventFilter, EventNameFilter

    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=["deliver-notifications"])
            )
        )
        page = await client.read_events(
            filter=EventFilter(event=EventNameFilter(name=["mobility.outbox.queued"])),
            limit=1,  # only the total is read
        )
        return list(runs), page.total


async def deployment_id(name: str) -> str:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for deployment in await client.read_deployments():
            if deployment.name == name:
                return str(deployment.id)
    raise SystemExit(f"no deployment {name}")


def shoot(ui: str, form_of: str) -> None:
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{ui}/runs", wait_until="networkidle")
        page.wait_for_timeout(3000)
        page.screenshot(path=str(DOCS / "prefect-runs.png"))
        page.goto(f"{ui}/deployments/deployment/{form_of}/run", wait_until="networkidle")
        page.wait_for_timeout(3000)
        page.screenshot(path=str(DOCS / "prefect-run-form.png"), full_page=True)
        browser.close()


def play(console: Console) -> int:
    """Register the examples, then press a button every two simulated minutes."""
    os.environ["PREFECT_API_URL"] = console.api
    console.cli("programme", "add", str(ROOT / "examples" / "programme-affiliation.yaml"))
    console.cli("programme", "add", str(ROOT / "examples" / "programme-paus.yaml"))
    console.cli("propose", str(ROOT / "examples" / "proposals.csv"))
    pressed = 0
    for _minute in range(0, SIMULATED_MINUTES, 2):
        time.sleep(2 * MINUTE)
        pressed += console.press_newest_button()
    time.sleep(15)  # the last batch leaves
    return pressed


def check(console: Console, pressed: int) -> None:
    runs, batches = asyncio.run(count_runs_and_batches(console.api))
    triggered = [r for r in runs if r.created_by and r.created_by.type == "AUTOMATION"]
    scheduled = [r for r in runs if r.auto_scheduled and r.state_name != "Scheduled"]
    print(
        f"FIGURE {SIMULATED_MINUTES} simulated minutes: {pressed} presses, {batches} "
        f"batches of mail, {len(triggered)} triggered delivery runs, {len(scheduled)} "
        f"scheduled ones (the old every-minute schedule: {SIMULATED_MINUTES})"
    )
    if len(triggered) > batches or len(scheduled) > 1:
        raise SystemExit("more delivery runs than batches of mail")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mobility-screens-") as name:
        tmp = Path(name)
        console = Console(tmp)
        log_path = tmp / "up.log"
        log = log_path.open("wb")
        up = subprocess.Popen(
            [MOBILITY, "up", "--web-port", str(console.web),
             "--prefect-port", str(console.prefect)],
            cwd=tmp, env=console.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for("mobility up", lambda: b"Mobility Engine is up" in log_path.read_bytes())
            check(console, play(console))
            shoot(console.api.removesuffix("/api"), asyncio.run(deployment_id("propose-placement")))
            print(f"saved {DOCS / 'prefect-runs.png'} and {DOCS / 'prefect-run-form.png'}")
        finally:
            os.killpg(up.pid, signal.SIGTERM)
            up.wait(timeout=90)
            log.close()


if __name__ == "__main__":
    main()
