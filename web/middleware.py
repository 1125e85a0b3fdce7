"""ASGI middleware for the link pages: the security headers on every response (errors and
static files included), and a cap on every request body."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi.responses import Response

logger = logging.getLogger("web")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def content_security_policy(*, style_hashes: Iterable[str] = ()) -> str:
    """The one policy of every page; ``style_hashes`` (``sha256-…``) allow exactly these inline
    styles besides the stylesheet, for a page that shows a caught email's HTML as its recipient
    sees it (in a sandboxed frame, which inherits this policy). Never ``'unsafe-inline'``."""
    hashes = sorted(set(style_hashes))
    if not hashes:
        return CONTENT_SECURITY_POLICY
    allowed = " ".join(f"'{h}'" for h in hashes)
    return f"{CONTENT_SECURITY_POLICY}; style-src 'self' 'unsafe-hashes' {allowed}"


SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)


def _headers(own: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response's headers with ours: ours replace any of the same name, except a
    content-security-policy the app built with ``content_security_policy`` (the base policy,
    with inline styles allowed by hash added)."""
    names = {name for name, _ in SECURITY_HEADERS}
    kept = [(k, v) for k, v in own if k.lower() not in names]
    policies = [v for k, v in own if k.lower() == b"content-security-policy"]
    extended = [v for v in policies if v.startswith(CONTENT_SECURITY_POLICY.encode() + b";")]
    ours = [
        (name, extended[0] if name == b"content-security-policy" and extended else value)
        for name, value in SECURITY_HEADERS
    ]
    return kept + ours


# --- ASGI middleware: headers on every response, a cap on every body -------------------------

ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Any]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]


class SecurityHeaders:
    """Adds the headers to every response, errors and static files included; an unexpected
    error becomes the 500 page here, inside, so that it carries the headers too."""

    def __init__(self, app: ASGIApp, *, server_error: Callable[[], Response]) -> None:
        self.app = app
        self.server_error = server_error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _headers(list(message.get("headers", [])))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await self.server_error()(scope, receive, send_with_headers)


@dataclass(frozen=True)
class WiderLimit:
    """The routes whose path matches ``path`` (a POST of a file) take up to ``limit`` bytes,
    and answer a larger body with their own page, made from the request's scope."""

    path: re.Pattern[str]
    limit: int
    too_large: Callable[[MutableMapping[str, Any]], Response]


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, announced or streamed; the
    routes of ``wider`` have their own limit and page."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        too_large: Callable[[], Response],
        wider: Sequence[WiderLimit] = (),
    ) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large
        self.wider = tuple(wider)

    def _limit(self, scope: MutableMapping[str, Any]) -> tuple[int, Callable[[], Response]]:
        path = scope.get("path", "")
        for wider in self.wider:
            if scope.get("method") == "POST" and wider.path.fullmatch(path):
                return wider.limit, partial(wider.too_large, scope)
        return self.limit, self.too_large

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, too_large = self._limit(scope)
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large()(scope, receive, send)
            return
        # Read the body first (small by definition: 64 KiB, or a board upload's few MB),
        # then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: MutableMapping[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)
