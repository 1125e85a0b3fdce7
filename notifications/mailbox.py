"""Read what the development catcher caught, for the ``/dev/mail`` page."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass(frozen=True)
class CaughtMail:
    name: str
    """The file name (no directory): a stable id for the page."""
    subject: str
    sender: str
    to: str
    date: datetime | None
    message_id: str
    text: str
    html: str
    links: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return str(part.get_content()) if part is not None else ""


def read_mail(path: Path) -> CaughtMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = _body(message, "plain")
    html = _body(message, "html")
    links = list(dict.fromkeys(LINK.findall(text)))
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    return CaughtMail(
        name=path.name,
        subject=str(message["Subject"] or ""),
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        date=date,
        message_id=str(message["Message-ID"] or ""),
        text=text,
        html=html,
        links=links,
        attachments=[a.get_filename() or "" for a in message.iter_attachments()],
    )


def list_mail(mail_dir: Path, *, limit: int | None = None) -> list[CaughtMail]:
    """Caught messages, newest first; a missing folder is an empty mailbox."""
    if not mail_dir.is_dir():
        return []
    paths = sorted(mail_dir.glob("*.eml"), reverse=True)
    if limit is not None:
        paths = paths[:limit]
    return [read_mail(path) for path in paths]
