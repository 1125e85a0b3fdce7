"""GET and POST on approval links under 32 concurrent clients, against a bare FastAPI route
returning a static page, both served by uvicorn with one worker process per core and loaded by
wrk (Debian's ``wrk``) from another process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, Result, fresh_database
from bench.dataset import build

CLIENTS = 32
SECONDS = 10
POST_SCRIPT = """
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local threads, counter = 0, 0
function setup(thread) thread:set("offset", threads); threads = threads + 1 end
function init(args) counter = offset end
function request()
  counter = counter + 2
  local token = tokens[(counter % #tokens) + 1]
  return wrk.format("POST", "/l/" .. token,
    {["Content-Type"] = "application/x-www-form-urlencoded"}, "decision=approve&comment=")
end
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(os.cpu_count() or 1),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    import signal

    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _wrk(
    url: str, script: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Requests per second and p99 latency in milliseconds."""
    command = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{SECONDS}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})}
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rate, p99


def run(backend: str) -> list[Result]:
    if shutil.which("wrk") is None:
        raise RuntimeError("the link-page benchmark needs wrk (apt-get install wrk)")
    folder = Path(tempfile.mkdtemp(prefix="mobility-bench-web-"))
    with fresh_database(backend) as url:
        dataset = build(url, total=4000, due_reminders=4000, due_ends=0)
        minter = dataset.app.config.minter
        from sqlalchemy import select

        from models import ActionToken

        with dataset.app.reading() as uow:
            nonces = list(uow.session.scalars(select(ActionToken.nonce).order_by(ActionToken.id)))
        tokens = [minter.raw(nonce) for nonce in nonces]
        token_file = folder / "tokens"
        token_file.write_text("\n".join(tokens[1:]))
        script = folder / "post.lua"
        script.write_text(POST_SCRIPT)
        env = {
            **os.environ,
            "MOBILITY_DATABASE_URL": url,
            "MOBILITY_SECRET_KEY": "bench-secret",
            "MOBILITY_VAR_DIR": str(folder / "var"),
            "MOBILITY_SMTP_HOST": "127.0.0.1",
            "MOBILITY_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        static, static_base = _serve("bench.web_apps:static", env)
        try:
            base_rate, base_p99 = _wrk(static_base + "/static-page")
        finally:
            _stop(static)
        links, links_base = _serve("bench.web_apps:links", env)
        try:
            get_rate, get_p99 = _wrk(f"{links_base}/l/{tokens[0]}")
            post_rate, post_p99 = _wrk(links_base, script, {"BENCH_TOKENS": str(token_file)})
        finally:
            _stop(links)
    shutil.rmtree(folder, ignore_errors=True)
    return [
        Result(
            "link page GET",
            backend,
            get_rate,
            base_rate,
            "req/s",
            "≥ 0.5",
            True,
            lambda ratio: ratio >= 0.5,
            note=f"p99 {get_p99:.0f} ms vs {base_p99:.0f} ms static",
        ),
        Result(
            "link POST decision",
            backend,
            post_rate,
            base_rate,
            "req/s",
            "(reported)",
            True,
            lambda ratio: True,
            note=f"p99 {post_p99:.0f} ms",
        ),
    ]
