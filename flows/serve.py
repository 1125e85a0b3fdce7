"""Serve every deployment of ``prefect.yaml`` from one process, with its schedules.

``mobility up`` starts this as a child (``python -m flows.serve``) against its Prefect server;
the server schedules runs and this process polls for them and runs each in a subprocess. The
deployments are read from ``prefect.yaml``, so served and deployed flows cannot drift apart.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

import yaml

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The ``deployments`` of prefect.yaml as plain data (no Prefect import)."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["deployments"])


def load_flow(entrypoint: str) -> Any:
    """``flows/sweep.py:sweep`` → the flow object."""
    file, _, name = entrypoint.partition(":")
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def concurrency(value: Any) -> Any:
    """prefect.yaml's ``concurrency_limit``: a number or {limit, collision_strategy}."""
    if isinstance(value, dict):
        from prefect.client.schemas.objects import ConcurrencyLimitConfig

        return ConcurrencyLimitConfig.model_validate(value)
    return value


def build(specs: list[dict[str, Any]], *, deliver_every: float | None = None) -> list[Any]:
    from prefect.schedules import Cron, Interval

    deployments = []
    for spec in specs:
        schedules = []
        for entry in spec.get("schedules") or []:
            if "cron" in entry:
                schedules.append(Cron(entry["cron"], timezone=entry.get("timezone")))
            else:
                every = deliver_every if spec["name"] == "deliver-notifications" else None
                schedules.append(Interval(every or entry["interval"]))
        deployments.append(
            load_flow(spec["entrypoint"]).to_deployment(
                name=spec["name"],
                schedules=schedules,
                description=spec.get("description"),
                tags=spec.get("tags"),
                parameters=spec.get("parameters") or {},
                concurrency_limit=concurrency(spec.get("concurrency_limit")),
            )
        )
    return deployments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--deliver-every",
        type=float,
        default=None,
        help="seconds between deliveries (default: prefect.yaml's interval)",
    )
    parser.add_argument("--limit", type=int, default=4, help="flow runs at once")
    args = parser.parse_args(argv)
    from prefect import serve

    serve(*build(deployment_specs(), deliver_every=args.deliver_every), limit=args.limit)


if __name__ == "__main__":
    main()
