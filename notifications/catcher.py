"""The development mail catcher: a local SMTP server that keeps every message as a file.

Runs when ``MOBILITY_SMTP_HOST`` is not set, so a newcomer can walk the whole process in a
browser (``/dev/mail`` lists what it caught) without any mail server.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from config import Settings


class MailDirHandler:
    """Writes each message to ``<mail_dir>/<UTC timestamp>-<seq>.eml`` (sortable by name)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def path_for(self, now: datetime) -> Path:
        with self._lock:
            number = next(self._seq)
        return self.mail_dir / f"{now:%Y%m%dT%H%M%S%fZ}-{number:06d}.eml"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        path = self.path_for(datetime.now(UTC))
        partial = path.with_suffix(".part")
        # Write then rename: the mail page never reads half a message.
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.replace(path)
        return "250 2.0.0 OK: caught"


def start_catcher(settings: Settings, *, port: int | None = None) -> Controller:
    """Start the catcher on 127.0.0.1:``settings.catcher_port``; ``.stop()`` the result."""
    controller = Controller(
        MailDirHandler(settings.mail_dir),
        hostname="127.0.0.1",
        port=port if port is not None else settings.catcher_port,
        ready_timeout=10,
    )
    controller.start()
    return controller
