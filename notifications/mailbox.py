"""Read what the development catcher caught, for the ``/dev/mail`` page; forget what it caught
about people the purge anonymised."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from states.addresses import AddressError, ascii_email
from states.privacy.purge import mention_finder

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


def forget_people(
    mail_dir: Path, people: Iterable[tuple[str, str]], *, dry_run: bool = False
) -> int:
    """Delete every caught message (``.eml``, or a ``.part`` left half-written) that names one
    of these (name, email) people or gives an address of theirs, in a header or in any text
    part, decoded; the number deleted (or, in a dry run, that would be). The catcher is a
    development tool, but what it keeps is personal data all the same."""
    terms = set()
    for name, email_address in people:
        terms.add((name, email_address))
        with contextlib.suppress(AddressError):  # as it went out: the domain in ASCII
            terms.add((name, ascii_email(email_address)))
    if not terms or not mail_dir.is_dir():
        return 0
    mentions = mention_finder(terms)
    forgotten = 0
    for path in sorted(mail_dir.iterdir()):
        caught = path.suffix in (".eml", ".part") and path.is_file()
        if caught and mentions(readable_text(path.read_bytes())):
            forgotten += 1
            if not dry_run:
                path.unlink(missing_ok=True)
    return forgotten


def readable_text(raw: bytes) -> str:
    """All a reader could see in a message: the bytes as UTF-8, the decoded headers, and every
    text part decoded (quoted-printable and base64 hide names from a plain search)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    texts = [raw.decode("utf-8", "replace"), *(str(value) for value in message.values())]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                texts.append(str(part.get_content()))
            except (LookupError, ValueError):  # an unknown charset or a broken encoding
                continue
    return "\n".join(texts)
