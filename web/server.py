"""Run the web app with uvicorn: in the foreground (``mobility web``) or in a thread (tests,
``mobility up``). The mail catcher starts with it when no SMTP server is configured."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from states.bootstrap import App
from web.logs import uvicorn_log_config


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def uvicorn_config(asgi: Any, *, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_config=uvicorn_log_config(log_level.upper()),
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        # The default thread pool (40) is plenty; links are clicked by people, one at a time.
        timeout_graceful_shutdown=5,
    )


@contextlib.contextmanager
def serving(
    asgi: Any, *, host: str = "127.0.0.1", port: int | None = None, log_level: str = "info"
) -> Iterator[str]:
    """Serve ``asgi`` in a background thread; yields the base URL, stops on exit."""
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn_config(asgi, host=host, port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _import_event_client() -> None:
    import prefect.events.clients
    import prefect.settings  # noqa: F401


def run(app: App, *, host: str, port: int) -> None:
    """``mobility web``: serve until interrupted; with the catcher in development."""
    from web.app import create_app

    dev_mail = app.settings.uses_mail_catcher
    catcher = None
    if dev_mail:
        from notifications.catcher import start_catcher

        catcher = start_catcher(app.settings)
    # The first decision should not wait for Prefect's import (a second or more) before its
    # delivery is triggered: import it now, beside the server starting up.
    threading.Thread(target=_import_event_client, name="import-prefect", daemon=True).start()
    try:
        level = app.settings.log_level.lower()
        uvicorn.Server(
            uvicorn_config(
                create_app(app, dev_mail=dev_mail, publish_events=True),
                host=host,
                port=port,
                log_level=level,
            )
        ).run()
    finally:
        if catcher is not None:
            catcher.stop()
