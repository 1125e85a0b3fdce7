"""Talking to the mail server: a few reused connections, one message at a time, and what each
reply means for that message (see ``notifications.outcomes``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosmtplib

from notifications.outcomes import Claimed, Outcomes, Prepared

if TYPE_CHECKING:
    from config import Settings

# Failures that say nothing about the message itself: try again later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)
# What can go wrong while opening or closing a connection.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, aiosmtplib.SMTPException)
# Failures that say the message cannot go out this way, now or later.
MESSAGE_ERRORS: tuple[type[BaseException], ...] = (aiosmtplib.SMTPNotSupported, UnicodeError)


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTarget:
        """The configured relay, or the local catcher when no SMTP host is set."""
        if settings.uses_mail_catcher:
            return cls(
                host="127.0.0.1", port=settings.catcher_port, timeout=settings.smtp_timeout_seconds
            )
        return cls(
            host=settings.smtp_host or "127.0.0.1",
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )


def _reply_text(code: int, message: str) -> str:
    return f"{code} {' '.join(str(message).split())}"


async def _connect(target: SmtpTarget) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        timeout=target.timeout,
        # Port 465 speaks TLS from the first byte (RFC 8314); elsewhere STARTTLS if configured.
        use_tls=target.port == 465,
        start_tls=target.starttls and target.port != 465,
        username=target.username,
        password=target.password,
    )
    await client.connect()
    if client.is_ehlo_or_helo_needed:
        # Now, so that what a message needs (SMTPUTF8) can be checked against what is offered.
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()
    return client


async def send_one(client: aiosmtplib.SMTP, item: Prepared, outcomes: Outcomes) -> None:
    """Send one message on an open connection and record what the server said."""
    options: list[str] = []
    if item.smtputf8:
        if not client.supports_extension("smtputf8"):
            outcomes.dead(
                item.id,
                item.attempts + 1,
                f"{', '.join(item.smtputf8)}: an address with a non-ASCII local part needs "
                f"SMTPUTF8 (RFC 6531), and the mail server {client.hostname}:{client.port} "
                "does not offer it",
            )
            return
        options = ["SMTPUTF8"]
        if client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
    try:
        # The message is flattened once by us; sendmail sends those bytes as they are.
        refused, _reply = await client.sendmail(
            item.sender, [item.recipient], item.data, mail_options=options
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        replies = [
            (r.code, f"{r.recipient}: {_reply_text(r.code, r.message)}") for r in error.recipients
        ]
        _by_code(item, replies, outcomes)
        return
    except aiosmtplib.SMTPResponseException as error:
        _by_code(item, [(error.code, _reply_text(error.code, error.message))], outcomes)
        return
    if refused:
        # Partial refusal: the server took the message for some recipients but not all.
        replies = [
            (r.code, f"{addr}: {_reply_text(r.code, r.message)}") for addr, r in refused.items()
        ]
        _by_code(item, replies, outcomes)
        return
    outcomes.sent(item)


async def _attempt(client: aiosmtplib.SMTP, item: Prepared | None, outcomes: Outcomes) -> bool:
    """Send one prepared row (None: its outcome is already recorded). Whatever goes wrong ends
    this row's attempt with its outcome recorded, never the run; False when the connection
    must not carry the next message."""
    if item is None:
        return True
    try:
        await send_one(client, item, outcomes)
    except TRANSIENT_ERRORS as error:
        outcomes.retry(item, f"connection lost: {type(error).__name__}: {error}")
    except MESSAGE_ERRORS as error:
        outcomes.dead(item.id, item.attempts + 1, f"cannot send: {type(error).__name__}: {error}")
    except Exception as error:
        outcomes.unexpected(item, "sending", error)
    else:
        return True
    return False


def _by_code(item: Prepared, replies: list[tuple[int, str]], outcomes: Outcomes) -> None:
    text = "; ".join(reply for _, reply in replies)
    if any(code >= 500 for code, _ in replies):
        outcomes.dead(item.id, item.attempts + 1, text)
    else:
        outcomes.retry(item, text)


async def send_all(
    items: list[Claimed],
    target: SmtpTarget,
    connections: int,
    outcomes: Outcomes,
    prepare: Callable[[Claimed], Prepared | None],
) -> None:
    queue: asyncio.Queue[Claimed] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    connect_errors: list[str] = []
    workers = max(1, min(connections, len(items)))
    live = [workers]  # connections still sending, whose marks a mark may wait for

    async def worker() -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            while not queue.empty():
                claimed = queue.get_nowait()
                if client is None or not client.is_connected:
                    try:
                        client = await _connect(target)
                    except CONNECTION_ERRORS as error:
                        reason = f"cannot connect to {target.host}:{target.port}: {error}"
                        connect_errors.append(reason)
                        outcomes.retry(claimed, reason)
                        return  # this connection is done; what is left is released below
                prepared = prepare(claimed)
                # Its last message is marked sent before the next one goes.
                await outcomes.settle(connections=live[0])
                if not await _attempt(client, prepared, outcomes):
                    client.close()  # in an unknown state: the next message starts afresh
        finally:
            live[0] -= 1
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except CONNECTION_ERRORS:
                    client.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    await outcomes.settle()
    while not queue.empty():  # every connection failed: the rest waits for the next run
        outcomes.retry(queue.get_nowait(), connect_errors[-1] if connect_errors else "not sent")
