"""After a POST committed, tell Prefect: its history, and that mail is due (the delivery's
trigger listens for that). For every POST of the app — the link buttons and the board's
actions alike — so no route can forget it.

Never inside a transaction (the handler has returned, so its unit of work committed), never on
the request's path (a thread of its own), never failing a request when Prefect is away.
Requests are coalesced: while one publication runs, any number of further POSTs ask for one
more, which then covers them all (fewer events in a burst of clicks, so fewer delivery runs).
"""

from __future__ import annotations

import threading
from typing import Any

from states.bootstrap import App


class AfterCommitPublisher:
    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._wanted = False
        self._running = False

    def request(self) -> None:
        with self._lock:
            self._wanted = True
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name="publish-events", daemon=True).start()

    def _run(self) -> None:
        from notifications.events import publish_after_request

        while True:
            with self._lock:
                if not self._wanted:
                    self._running = False
                    return
                self._wanted = False
            publish_after_request(self.app)


class PublishAfterPost:
    """ASGI middleware: a POST answered below 400 asks the publisher for a publication."""

    def __init__(self, app: Any, *, publisher: AfterCommitPublisher) -> None:
        self.app = app
        self.publisher = publisher

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def remember_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, remember_status)
        if status and status[0] < 400:
            self.publisher.request()
