"""After a POST succeeded the web app asks for one publication to Prefect (``web.publish``);
a burst of POSTs while one runs costs one more, not one each. Pure logic: the publication
itself is tested against a Prefect server in tests/flows/test_trigger.py."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from web.publish import AfterCommitPublisher, PublishAfterPost


class CountingPublisher:
    def __init__(self) -> None:
        self.requests = 0

    def request(self) -> None:
        self.requests += 1


def tiny_app(publisher: Any) -> Any:
    def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    def refused(request: Any) -> PlainTextResponse:
        return PlainTextResponse("no", status_code=400)

    app = Starlette(
        routes=[Route("/ok", ok, methods=["GET", "POST"]), Route("/no", refused, methods=["POST"])]
    )
    return PublishAfterPost(app, publisher=publisher)


def test_only_a_post_that_succeeded_asks_for_a_publication() -> None:
    publisher = CountingPublisher()
    client = TestClient(tiny_app(publisher))
    client.get("/ok")
    client.post("/no")
    assert publisher.requests == 0
    client.post("/ok")
    assert publisher.requests == 1


def test_a_burst_of_posts_is_coalesced(monkeypatch: pytest.MonkeyPatch) -> None:
    import notifications.events

    release = threading.Event()
    calls: list[float] = []

    def slow_publish(app: Any) -> None:
        calls.append(time.monotonic())
        release.wait(timeout=10)

    monkeypatch.setattr(notifications.events, "publish_after_request", slow_publish)
    publisher = AfterCommitPublisher(app=None)  # type: ignore[arg-type]
    publisher.request()
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(5):  # while the first one runs
        publisher.request()
    release.set()
    deadline = time.monotonic() + 10
    while publisher._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2
