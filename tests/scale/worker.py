"""A web process of the scale-out proof: the link pages on a port, on the simulated clock.

    python -m tests.scale.worker CLOCK PORT

(The sweep and the delivery run as Prefect flow runs on the workers, with the simulated time
as their ``as_of`` parameter; only the pages read the clock file, as a person's "now".)
Configuration comes from MOBILITY_*; it stops on SIGTERM like any uvicorn server.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from states.bootstrap import bootstrap
from tests.scale.clock import FileClock
from web.app import create_app
from web.server import uvicorn_config


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    clock, port = FileClock(Path(sys.argv[1])), int(sys.argv[2])
    app = create_app(bootstrap(), dev_mail=False, clock=clock)
    uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, log_level="warning")).run()


if __name__ == "__main__":
    main()
