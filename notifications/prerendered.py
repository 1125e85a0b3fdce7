"""A message rendered once, its link a placeholder: at send time only the raw token is spliced
into the flattened bytes. Kept in the outbox row (``rendered``) while the message waits for a
retry, so a retry renders nothing; the raw token never reaches the database.

The placeholder has the raw token's length and alphabet (base64url, 43 characters), so the
bytes spliced are exactly what rendering with the token would have produced: line lengths,
and so the encodings chosen and where quoted-printable breaks its lines, are the same; the
token's characters are never escaped, and a soft line break (``=`` CRLF) that falls inside the
placeholder stays where it is. Text never travels in base64, which would hide the placeholder:
``notifications.mime`` writes it as 7bit or quoted-printable.

Fixed at first rendering, like the Message-ID: the wording, the recipient's name and the
placement's facts as they stood then, the ``Date`` header (the queueing time, as before) and
the link's expiry date (the token's, which does not change). A retry sends that same message.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

TOKEN_LENGTH = 43
"""A raw link token: 32 bytes in base64url without padding (``states.tokens``)."""


SOFT_BREAK = rb"(?:=\r?\n)?"
"""Quoted-printable's soft line break, which may fall between any two characters."""
KEPT = frozenset(b"=\r\n")
"""The bytes of a soft break: never a character of the token (base64url)."""


def new_placeholder() -> str:
    """Unguessable, so no name or comment in the message can hold it and take the link."""
    placeholder = secrets.token_urlsafe(32)
    assert len(placeholder) == TOKEN_LENGTH
    return placeholder


PROCESS_PLACEHOLDER = new_placeholder()
"""The placeholder of the messages this process renders: one per process, so its pattern is
compiled once; secret all the same (it never leaves the outbox row and this process)."""


@dataclass(frozen=True)
class PreRendered:
    data: bytes
    """The flattened message, the placeholder where the link's token goes."""
    placeholder: str
    """Empty for a message without a link."""
    recipient: str
    subject: str
    smtputf8: tuple[str, ...]

    def splice(self, raw_token: str | None) -> bytes:
        if not self.placeholder:
            return self.data
        if raw_token is None or len(raw_token) != TOKEN_LENGTH:
            raise ValueError("a link message needs its raw token to be sent")
        token = raw_token.encode("ascii")

        def put(match: re.Match[bytes]) -> bytes:
            characters = iter(token)
            return bytes(byte if byte in KEPT else next(characters) for byte in match.group())

        return _pattern(self.placeholder).sub(put, self.data)

    def to_blob(self) -> bytes:
        head = {
            "placeholder": self.placeholder,
            "recipient": self.recipient,
            "subject": self.subject,
            "smtputf8": list(self.smtputf8),
        }
        return json.dumps(head, ensure_ascii=True).encode("ascii") + b"\n" + self.data

    @classmethod
    def from_blob(cls, blob: bytes) -> PreRendered:
        head, _, data = blob.partition(b"\n")
        fields = json.loads(head)
        return cls(
            data=data,
            placeholder=str(fields["placeholder"]),
            recipient=str(fields["recipient"]),
            subject=str(fields["subject"]),
            smtputf8=tuple(fields["smtputf8"]),
        )


@lru_cache(maxsize=64)
def _pattern(placeholder: str) -> re.Pattern[bytes]:
    return re.compile(SOFT_BREAK.join(re.escape(bytes([c])) for c in placeholder.encode("ascii")))


def occurrences(data: bytes, placeholder: str) -> int:
    return len(_pattern(placeholder).findall(data))
