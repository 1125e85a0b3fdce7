"""Serve every deployment of ``prefect.yaml`` from one process, with its schedules and triggers.

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


def triggers(spec: dict[str, Any]) -> list[Any]:
    """prefect.yaml's ``triggers`` of a deployment, as ``prefect deploy`` reads them."""
    from prefect.events import DeploymentEventTrigger

    return [
        DeploymentEventTrigger.model_validate({k: v for k, v in entry.items() if k != "type"})
        for entry in spec.get("triggers") or []
    ]


def schedules(spec: dict[str, Any], *, deliver_every: float | None) -> list[Any]:
    from prefect.schedules import Cron, Interval

    found = []
    for entry in spec.get("schedules") or []:
        if "cron" in entry:
            found.append(Cron(entry["cron"], timezone=entry.get("timezone")))
        else:
            every = deliver_every if spec["name"] == "deliver-notifications" else None
            found.append(Interval(every or entry["interval"]))
    return found


def build(specs: list[dict[str, Any]], *, deliver_every: float | None = None) -> list[Any]:
    """The served deployments: prefect.yaml's, with ``deliver_every`` replacing the delivery's
    safety-net interval (tests, demos)."""
    deployments = []
    for spec in specs:
        deployments.append(
            load_flow(spec["entrypoint"]).to_deployment(
                name=spec["name"],
                schedules=schedules(spec, deliver_every=deliver_every),
                triggers=triggers(spec),
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
        help="seconds between safety-net deliveries (default: prefect.yaml's interval); "
        "mail queued by a decision is delivered at once by the trigger either way",
    )
    parser.add_argument("--limit", type=int, default=4, help="flow runs at once")
    parser.add_argument(
        "--only", action="append", default=None, help="serve only this deployment (repeatable)"
    )
    args = parser.parse_args(argv)
    from prefect import serve

    specs = [s for s in deployment_specs() if args.only is None or s["name"] in args.only]
    serve(*build(specs, deliver_every=args.deliver_every), limit=args.limit)


if __name__ == "__main__":
    main()
