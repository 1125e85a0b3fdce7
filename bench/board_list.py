"""The board's placements list at 2,000 placements: p50/p99 of a signed-in coordinator's GET,
one client after another (httpx) and under load (Debian's ``wrk``, 8 connections, if
installed). Not part of ``make bench``'s table; run ``python -m bench.board_list``."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import time

import httpx

from bench.common import fresh_database
from bench.dataset import AS_OF, build
from web.app import create_app
from web.server import free_port, serving

TOTAL = 2000
REQUESTS = 200
PATH = "/board/programmes/paus-2027"
COORDINATOR = "johan.ek@univ.example"


def _percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"


def _sign_in(client: httpx.Client) -> None:
    login = client.get("/board/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None, login.text
    client.post("/board/login/dev", data={"csrf": csrf.group(1), "email": COORDINATOR})


def _wrk(base: str, cookie: str) -> str:
    if shutil.which("wrk") is None:
        return "wrk not installed"
    out = subprocess.run(
        ["wrk", "-t2", "-c8", "-d10s", "--latency", "-H", f"Cookie: {cookie}", base + PATH],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    rate = re.search(r"Requests/sec:\s+(\S+)", out)
    return f"p50 {found.get('50')}, p99 {found.get('99')}, {rate.group(1) if rate else '?'} req/s"


def main() -> None:
    with fresh_database("sqlite") as url:
        dataset = build(url, total=TOTAL)
        port = free_port()
        web = create_app(dataset.app, dev_mail=False, clock=lambda: AS_OF)
        with serving(web, port=port, log_level="warning"):
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                _sign_in(client)
                first = client.get(PATH)
                assert first.status_code == 200, first.text[:500]
                rows = first.text.count("<tr") - 1
                for _ in range(10):
                    client.get(PATH)
                seconds = []
                for _ in range(REQUESTS):
                    start = time.perf_counter()
                    assert client.get(PATH).status_code == 200
                    seconds.append(time.perf_counter() - start)
                cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            print(f"placements list, {rows} rows of {TOTAL} placements (SQLite, one process)")
            print(f"  one client, {REQUESTS} requests: {_percentiles(seconds)}")
            print(f"  wrk, 8 connections, 10 s: {_wrk(base, cookie)}")


if __name__ == "__main__":
    sys.exit(main())
