"""Helpers for the web tests (no tests here): a settable clock, a server on a free port, and
hostile proposals."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import ActionToken
from states.bootstrap import App
from web.app import create_app
from web.server import serving

PROPOSED = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
ENDED = datetime(2027, 8, 2, 6, tzinfo=UTC)  # the first business day after the last

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


# --- the whole stack: database, outbox delivery into a real aiosmtpd catcher, web server -----


@dataclass
class Stack:
    """A migrated SQLite app whose emails go through real SMTP into the catcher, and a web
    server on the ``base_url`` the emailed links point at."""

    app: App
    base: str
    clock: Clock
    seen: set[str] = field(default_factory=set)

    def deliver(self) -> int:
        from notifications.delivery import deliver_due_sync

        # A thread of its own: Playwright's sync API keeps an event loop in this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            report = pool.submit(
                deliver_due_sync,
                engine=self.app.engine,
                settings=self.app.settings,
                config=self.app.config,
                now=self.clock.now,
            ).result()
        assert report.dead == 0 and report.retried == 0, report
        return report.sent

    def new_mail(self) -> list[Any]:
        """Messages caught since the last call, oldest first."""
        from notifications.mailbox import list_mail

        fresh = [m for m in list_mail(self.app.settings.mail_dir) if m.name not in self.seen]
        self.seen.update(m.name for m in fresh)
        return list(reversed(fresh))

    def link_of(self, mail: Any) -> str:
        links = [link for link in mail.links if link.startswith(f"{self.base}/l/")]
        assert len(links) == 1, (mail.subject, mail.links)
        return str(links[0])


@contextlib.contextmanager
def full_stack(template: Path, tmp: Path) -> Iterator[Stack]:
    from config import Settings
    from notifications.catcher import start_catcher
    from states.bootstrap import bootstrap
    from web.server import free_port

    shutil.copy(template, tmp / "mobility.db")
    port = free_port()
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'mobility.db'}",
        var_dir=tmp / "var",
        secret_key="test-secret-key",
        base_url=f"http://127.0.0.1:{port}",
        catcher_port=free_port(),
        smtp_host=None,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = bootstrap(settings)
    clock = Clock()
    catcher = start_catcher(settings)
    try:
        with serving(
            create_app(app, dev_mail=True, clock=clock), port=port, log_level="warning"
        ) as base:
            yield Stack(app=app, base=base, clock=clock)
    finally:
        catcher.stop()
        app.engine.dispose()


def link_purpose(app: App, link: str) -> str:
    """The step an emailed link acts on (approval, agreement, evaluation, checkin)."""
    from states.tokens import hash_token

    raw = link.rsplit("/l/", 1)[1]
    with app.reading() as uow:
        purpose = uow.session.scalar(
            select(ActionToken.purpose).where(ActionToken.token_hash == hash_token(raw))
        )
    assert purpose is not None, "the link matches no token"
    return purpose


EVALUATION_FORM = {
    "decision": "answer",
    "goals_reached": "4",
    "value_home": "5",
    "value_host": "4",
    "again": "yes",
    "outcomes": ["course", "joint_application"],
    "outcomes_text": "A course",
}


# --- headless Chromium, one launch per test module ------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium() -> Iterator[Any]:
    """For a module-scoped ``browser`` fixture; skips only where Chromium is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"headless Chromium is not installed at {CHROMIUM} "
            "(apt-get install chromium); browser tests skipped"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
