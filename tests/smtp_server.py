"""A real SMTP server for tests (aiosmtpd, in-process on a free port) that can misbehave.

Faults, set on ``server.faults`` at any time:
- ``fail_first``: answer the next N DATA attempts with ``fail_reply`` (421 by default);
- ``refuse``: addresses answered with ``refuse_reply`` (550 by default) at RCPT;
- ``drop_first``: close the connection on the next N DATA attempts without a reply;
- ``delay``: seconds to wait before accepting each message (to catch a sender mid-batch).
``stop()`` and ``start()`` take the server down and bring it back on the same port.
``SmtpTestServer(smtputf8=False)`` does not offer SMTPUTF8 (RFC 6531), as many relays do not.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Faults:
    fail_first: int = 0
    fail_reply: str = "421 4.3.2 Service not available, closing transmission channel"
    refuse: set[str] = field(default_factory=set)
    refuse_reply: str = "550 5.1.1 Mailbox unavailable"
    drop_first: int = 0
    delay: float = 0.0


class RecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults = Faults()
        self.raw: list[bytes] = []
        self._parsed: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.utf8_envelopes = 0
        """Messages whose MAIL FROM asked for SMTPUTF8."""
        self.data_attempts = 0
        self.refused_rcpts = 0
        self.failed_data = 0
        self.dropped = 0

    async def handle_RCPT(  # aiosmtpd names its hooks in capitals
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.faults.refuse:
            with self.lock:
                self.refused_rcpts += 1
            return self.faults.refuse_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_attempts += 1
            if self.faults.fail_first > 0:
                self.faults.fail_first -= 1
                self.failed_data += 1
                return self.faults.fail_reply
            if self.faults.drop_first > 0:
                self.faults.drop_first -= 1
                self.dropped += 1
                drop = True
            else:
                drop = False
        if drop:
            server.transport.close()
            return "421 4.4.2 Connection dropped"  # never reaches the client
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        with self.lock:
            # Parsed when a test reads it: parsing here would slow the sender down.
            self.raw.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.utf8_envelopes += bool(envelope.smtp_utf8)
        return "250 2.0.0 OK: queued"


class SmtpTestServer:
    def __init__(self, port: int | None = None, *, smtputf8: bool = True) -> None:
        self.port = port or free_port()
        self.smtputf8 = smtputf8
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    @property
    def faults(self) -> Faults:
        return self.handler.faults

    @property
    def received(self) -> int:
        with self.handler.lock:
            return len(self.handler.raw)

    @property
    def messages(self) -> list[EmailMessage]:
        handler = self.handler
        with handler.lock:
            raw = list(handler.raw)
        for content in raw[len(handler._parsed) :]:
            parsed = email.message_from_bytes(content, policy=email.policy.default)
            handler._parsed.append(parsed)  # type: ignore[arg-type]
        return list(handler._parsed[: len(raw)])

    def start(self) -> SmtpTestServer:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ready_timeout=10,
            enable_SMTPUTF8=self.smtputf8,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)

    def duplicates(self) -> int:
        return sum(count - 1 for count in self.message_ids().values())

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]


@contextmanager
def smtp_server(port: int | None = None, *, smtputf8: bool = True) -> Iterator[SmtpTestServer]:
    server = SmtpTestServer(port, smtputf8=smtputf8).start()
    try:
        yield server
    finally:
        server.stop()
