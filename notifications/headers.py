"""Header values built only from ``Address`` objects and sanitised strings: a name holding
CR/LF or markup can neither add a header nor break the message."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from functools import lru_cache

from models.text import single_line
from states.addresses import AddressError, ascii_domain
from states.errors import MobilityError


class RenderError(MobilityError):
    """The row cannot become an email (unknown kind, missing data); delivery dead-letters it."""


def clean(value: object, *, limit: int = 200) -> str:
    """One line of text (``models.text.single_line``: no control, bidi or other format
    characters), whatever the row holds, cut at ``limit``."""
    return single_line(str(value or ""))[:limit]


def safe_address(name: str, email: str) -> Address:
    """The header's address: the domain in its ASCII form (a Unicode domain would be written
    as an encoded word, which no server reads as an address); a non-ASCII local part stays,
    and the message then goes out with SMTPUTF8 (see ``notifications.smtp``)."""
    username, _, domain = email.strip().rpartition("@")
    if not username or not domain or single_line(email) != email.strip():
        raise RenderError(f"not a usable email address: {email!r}")
    try:
        return Address(display_name=clean(name), username=username, domain=ascii_domain(domain))
    except (AddressError, ValueError, IndexError) as error:
        raise RenderError(f"not a usable email address: {email!r} ({error})") from None


@lru_cache(maxsize=8)
def sender_address(mail_from: str) -> Address:
    """The configured sender (an ``Address`` is immutable: parsed once per process)."""
    name, email = parseaddr(mail_from)
    return safe_address(name, email or "mobility@localhost")
