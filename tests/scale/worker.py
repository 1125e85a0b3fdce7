"""A worker of the scale-out proof.

    python -m tests.scale.worker deliver|sweep|web CLOCK STOP [PORT]

`deliver` and `sweep` run what the `deliver-notifications` and `sweep` flows run (the same
service functions, in a loop, at the simulated time); `web` serves the link pages with the
simulated clock. Each stops when the STOP file appears. Configuration comes from MOBILITY_*.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from states.bootstrap import bootstrap
from tests.scale.clock import FileClock

log = logging.getLogger("scale-worker")


def deliver(clock: FileClock, stop: Path) -> None:
    from notifications.delivery import deliver_due_sync

    app = bootstrap()
    while not stop.exists():
        report = deliver_due_sync(
            engine=app.engine, settings=app.settings, config=app.config, now=clock()
        )
        if not report.claimed:
            time.sleep(0.1)


def sweep(clock: FileClock, stop: Path) -> None:
    from states.calendar.sweep import run_sweep

    app = bootstrap()
    while not stop.exists():
        report = run_sweep(app.uow, as_of=clock())
        for failure in report.failures:
            log.error("sweep failure: %s", failure)
        time.sleep(0.2)


def web(clock: FileClock, stop: Path, port: int) -> None:
    import threading

    import uvicorn

    from web.app import create_app
    from web.server import uvicorn_config

    app = bootstrap()
    server = uvicorn.Server(
        uvicorn_config(
            create_app(app, dev_mail=False, clock=clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )

    def watch() -> None:
        while not stop.exists():
            time.sleep(0.2)
        server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    server.run()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    role, clock_file, stop_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    clock = FileClock(clock_file)
    if role == "web":
        web(clock, stop_file, int(sys.argv[4]))
    else:
        {"deliver": deliver, "sweep": sweep}[role](clock, stop_file)


if __name__ == "__main__":
    main()
