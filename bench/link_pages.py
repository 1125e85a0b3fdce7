"""GET and POST on approval links under 32 concurrent clients, against a bare FastAPI route
returning a static page (GET) and a bare route issuing the same SQL writes in plain SQL
(POST, ``bench.web_apps``), all served by uvicorn with one worker process per core and loaded by
wrk (Debian's ``wrk``) from another process. The GETs alternate between the two servers for
three rounds and the best round of each counts (as the sweep's rounds do)."""

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
from bench.dataset import Dataset, build

CLIENTS = 32
PLACEMENTS = 10_000  # two approval links each: enough unused ones for both POST runs
BARE_SHARE = 0.7
"""Of the unused tokens, the bare route's share: it answers about three times as fast as the
project's route, and with half of 12,000 it ran out in the window (5,950 of its 11,800 answers
were 410s for tokens already used, each cheaper than a decision, so its rate was overstated)."""
SECONDS = 10
GET_SECONDS = 5
ROUNDS = 3
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
    url: str,
    script: Path | None = None,
    env: dict[str, str] | None = None,
    *,
    seconds: int = SECONDS,
) -> tuple[float, float, int]:
    """Requests per second, p99 latency in milliseconds, and answers other than 2xx/3xx."""
    command = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})}
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    other = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, p99, int(other.group(1)) if other else 0


def _tokens(dataset: Dataset, folder: Path) -> tuple[str, Path, Path]:
    """The GET's token, and two files of unused tokens for the POSTs: one for the bare route,
    one for the project (both approvals of a placement in the same file)."""
    from sqlalchemy import select

    from models import ActionToken

    minter = dataset.app.config.minter
    with dataset.app.reading() as uow:
        nonces = list(uow.session.scalars(select(ActionToken.nonce).order_by(ActionToken.id)))
    tokens = [minter.raw(nonce) for nonce in nonces]
    cut = int(len(tokens) * BARE_SHARE) // 2 * 2
    files = (folder / "bare-tokens", folder / "project-tokens")
    files[0].write_text("\n".join(tokens[2:cut]))
    files[1].write_text("\n".join(tokens[cut:]))
    return tokens[0], *files


def _best(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """The round with the most requests per second (these machines are shared: a neighbour's
    burst lowers whichever window it falls in)."""
    return max(runs, key=lambda run: run[0])


def _measure(url: str, folder: Path) -> dict[str, tuple[float, float, int]]:
    """Both servers run at once; the GETs alternate between them for ``ROUNDS`` rounds and the
    best round of each counts, so a burst of load from elsewhere cannot fall on one side only.
    The POSTs use up their tokens, so each side has one round."""
    dataset = build(url, total=PLACEMENTS, due_reminders=PLACEMENTS, due_ends=0)
    get_token, bare_tokens, project_tokens = _tokens(dataset, folder)
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
        links, links_base = _serve("bench.web_apps:links", env)
        try:
            static_runs, link_runs = [], []
            for _ in range(ROUNDS):
                static_runs.append(_wrk(static_base + "/static-page", seconds=GET_SECONDS))
                link_runs.append(_wrk(f"{links_base}/l/{get_token}", seconds=GET_SECONDS))
            measured = {"static": _best(static_runs), "GET": _best(link_runs)}
            bare = {"BENCH_TOKENS": str(bare_tokens)}
            measured["bare POST"] = _wrk(static_base, script, bare)
            measured["POST"] = _wrk(links_base, script, {"BENCH_TOKENS": str(project_tokens)})
        finally:
            _stop(links)
    finally:
        _stop(static)
    return measured


def _refused(answers: int) -> str:
    return f"; {answers} answers not 2xx" if answers else ""


def run(backend: str) -> list[Result]:
    if shutil.which("wrk") is None:
        raise RuntimeError("the link-page benchmark needs wrk (`make wrk` installs it as root)")
    folder = Path(tempfile.mkdtemp(prefix="mobility-bench-web-"))
    try:
        with fresh_database(backend) as url:
            m = _measure(url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    (base_rate, base_p99, _), (get_rate, get_p99, get_other) = m["static"], m["GET"]
    (bare_rate, bare_p99, bare_other), (post_rate, post_p99, post_other) = (
        m["bare POST"],
        m["POST"],
    )
    return [
        Result(
            "link page GET",
            backend,
            get_rate,
            base_rate,
            "req/s",
            "≥ 0.5, p99 ≤ 3× static",
            True,
            lambda ratio: ratio >= 0.5 and get_p99 <= 3 * base_p99,
            note=f"p99 {get_p99:.0f} ms vs {base_p99:.0f} ms static{_refused(get_other)}",
        ),
        Result(
            "link POST decision",
            backend,
            post_rate,
            bare_rate,
            "req/s",
            "≥ 1/3 of a bare route's same writes",
            True,
            # Either side answering anything but its decision (a token used up) is no
            # measurement of the same work: the row fails rather than flatter or slander.
            lambda ratio: ratio >= 1 / 3 and not post_other and not bare_other,
            note=f"p99 {post_p99:.0f} ms vs {bare_p99:.0f} ms bare{_refused(post_other)}"
            + (f"; bare: {bare_other} answers not 2xx" if bare_other else ""),
        ),
    ]
