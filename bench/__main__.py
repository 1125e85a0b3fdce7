"""Run every benchmark and print one table: project, baseline in the same run, ratio, target.

python -m bench [--only NAME ...] [--record docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import traceback
from datetime import UTC, datetime

from bench.common import Result, backends

BENCHMARKS = (
    "transitions",
    "sweep",
    "delivery",
    "link_pages",
    "startup",
    "registration",
    "proposal_memory",
    "memory",
)
BACKEND_FREE = {"startup", "link_pages_static"}


def _format(results: list[Result], failed: list[tuple[str, str, str]]) -> str:
    header = "| benchmark | db | project | baseline (same run) | ratio | target | met |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r.benchmark} | {r.backend} | {r.project:,.1f} {r.unit} | "
            f"{r.baseline:,.1f} {r.unit} | {r.ratio:.2f} | {r.target} | "
            f"{'yes' if r.ok else 'NO'} |" + (f" {r.note}" if r.note else "")
        )
    for name, backend, reason in failed:  # a benchmark that could not run still has its row
        lines.append(f"| {name} | {backend} | – | – | – | – | NO | could not run: {reason} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", nargs="*", default=None, help="benchmarks to run")
    parser.add_argument("--record", default=None, help="append the table to this Markdown file")
    args = parser.parse_args()
    selected = args.only or list(BENCHMARKS)
    results: list[Result] = []
    failed: list[tuple[str, str, str]] = []
    for name in selected:
        module = importlib.import_module(f"bench.{name}")
        for backend in ["-"] if name in BACKEND_FREE else backends():
            print(f"… {name} ({backend})", file=sys.stderr, flush=True)
            try:
                outcome = module.run(backend)
            except Exception as error:
                traceback.print_exc()
                reason = " ".join(str(error).split()) or type(error).__name__
                failed.append((name, backend, reason.replace("|", "/")))
                continue
            results.extend(outcome if isinstance(outcome, list) else [outcome])
    table = _format(results, failed)
    print(table)
    if args.record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        with open(args.record, "a", encoding="utf-8") as handle:
            handle.write(f"\n## Run of {stamp} on {machine}\n\n{table}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
