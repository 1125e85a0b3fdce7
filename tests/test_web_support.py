"""Helpers for the web tests (no tests here): a settable clock, a server on a free port, and
hostile proposals."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from models import ActionToken
from states.bootstrap import App
from web.app import create_app
from web.server import serving

PROPOSED = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
ENDED = datetime(2027, 7, 30, 6, tzinfo=UTC)

SECURITY_HEADERS = {
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


def assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (name, response)
    csp = headers.get("content-security-policy", "")
    for part in ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"):
        assert part in csp


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@contextlib.contextmanager
def served(app: App, *, clock: Clock, dev_mail: bool = False) -> Iterator[str]:
    with serving(create_app(app, dev_mail=dev_mail, clock=clock), log_level="info") as base:
        yield base


def all_raw_tokens(app: App) -> list[str]:
    with app.reading() as uow:
        return [app.config.minter.raw_for(t) for t in uow.session.scalars(select(ActionToken))]


@dataclass
class LogCapture(logging.Handler):
    """Every record from every logger (root and the non-propagating uvicorn ones)."""

    records: list[logging.LogRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, level=logging.DEBUG)

    def __hash__(self) -> int:
        return id(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return [formatter.format(r) for r in self.records]


@contextlib.contextmanager
def capturing_logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    names = ["", "uvicorn", "uvicorn.access", "uvicorn.error", "web"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(capture)
            lg.setLevel(level)
