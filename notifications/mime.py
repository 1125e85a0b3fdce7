"""The wire form of our emails, written directly: headers, a text and an HTML alternative, and
attachments. Python's ``email.message.EmailMessage`` parsed every header it was given, and
again when it flattened them: building and flattening one message took 4–5 ms against 0.6 ms
to render its templates. Our messages have one fixed shape, so they are written here with the
standard library's encoders only (RFC 2047 encoded words, quoted-printable, base64).

What is written: ``From``, ``To``, ``Subject``, ``Message-ID``, ``Date``, ``Auto-Submitted``,
``Reply-To``, ``MIME-Version``, ``Content-Language``; ``multipart/alternative`` (text, then
HTML), inside ``multipart/mixed`` when there are attachments. Text travels as 7bit when it is
short-lined ASCII, else as quoted-printable, so a link's placeholder can always be found in the
bytes and spliced (``notifications.prerendered``). With ``utf8`` (a non-ASCII local part, sent
with SMTPUTF8) headers are UTF-8 as RFC 6532 allows; otherwise they are ASCII. Every value
given is one line already (``notifications.headers``); nothing here can add a header."""

from __future__ import annotations

import base64
import secrets
from binascii import b2a_qp
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.quoprimime import header_encode, header_length
from email.utils import encode_rfc2231, formataddr

from notifications.headers import RenderError

CRLF = "\r\n"
LINE = 76
"""RFC 2045's longest quoted-printable or base64 line."""
FOLD_AT = 78
"""RFC 5322's recommended longest header line; text longer-lined than this is encoded."""
WORD_PAYLOAD = 45
"""Encoded characters per encoded word: with ``=?utf-8?q?`` and ``?=`` a word is 57 long, and
fits on a folded line after the longest header name here (``Reply-To: ``)."""


@dataclass(frozen=True)
class Attachment:
    content: bytes
    maintype: str
    subtype: str
    filename: str
    params: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Mail:
    sender: Address
    to: Address
    subject: str
    message_id: str
    date: str
    language: str
    text: str
    html: str
    reply_to: Address | None = None
    attachments: Sequence[Attachment] = field(default_factory=tuple)

    @property
    def smtputf8(self) -> tuple[str, ...]:
        """The addresses whose local part is not ASCII: the message then needs SMTPUTF8."""
        return tuple(
            address.addr_spec
            for address in (self.sender, self.to, self.reply_to)
            if address is not None and not address.username.isascii()
        )


def _fold(name: str, value: str) -> str:
    """Fold a header at its spaces so lines stay within 78 characters where a space allows.
    Unfolding (CRLF removed) gives back the value; between encoded words any whitespace is
    a separator only, so their lines may be joined or broken anew."""
    atoms = value.replace(f"{CRLF} ", " ").split(" ")
    lines: list[str] = []
    line, width = atoms[0], len(name) + 2  # "Name: " before the first line
    for atom in atoms[1:]:
        if atom and width + len(line) + 1 + len(atom) > FOLD_AT:
            lines.append(line)
            line, width = f" {atom}", 0
        else:
            line = f"{line} {atom}"
    lines.append(line)
    return CRLF.join(lines)


def _encoded_words(text: str) -> str:
    """RFC 2047 "Q" encoded words short enough for a folded line each, never splitting a
    character: a decoder joins adjacent encoded words without the space between them. Only
    letters, digits and ``-!*+/`` stay as they are, so the words are safe in a display name.
    Packed a word of the text at a time (its space travels encoded, as ``_``); only a word
    too long for one encoded word is split, between characters."""
    words: list[str] = []
    chunk, length = b"", 0
    for piece in _pieces(text):
        needed = header_length(piece)
        if chunk and length + needed > WORD_PAYLOAD:
            words.append(header_encode(chunk, "utf-8"))
            chunk, length = b"", 0
        chunk += piece
        length += needed
    words.append(header_encode(chunk, "utf-8"))
    return " ".join(words)


def _pieces(text: str) -> list[bytes]:
    """The text's words, each with the space after it, as UTF-8; a word longer than an
    encoded word holds comes as its characters."""
    pieces: list[bytes] = []
    for word in text.split(" "):
        encoded = word.encode("utf-8") + b" "
        if header_length(encoded) <= WORD_PAYLOAD:
            pieces.append(encoded)
        else:
            pieces += [character.encode("utf-8") for character in word] + [b" "]
    pieces[-1] = pieces[-1][:-1]  # the text does not end with the space added after it
    return [piece for piece in pieces if piece]


def _as_written(text: str, *, utf8: bool) -> bool:
    """Text that can go as it is: ASCII (or UTF-8 with SMTPUTF8) that no reader would take
    for an encoded word."""
    return (text.isascii() or utf8) and "=?" not in text


def _unstructured(text: str, *, utf8: bool) -> str:
    return text if _as_written(text, utf8=utf8) else _encoded_words(text)


def _address(address: Address, *, utf8: bool) -> str:
    display, spec = address.display_name, address.addr_spec
    if not display:
        return spec
    if not _as_written(display, utf8=utf8):
        return f"{_encoded_words(display)} <{spec}>"
    if display.isascii():
        return formataddr((display, spec))  # quotes a name holding specials
    escaped = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}" <{spec}>'  # UTF-8 with SMTPUTF8 (RFC 6532), quoted


def _text_part(subtype: str, text: str) -> str:
    """A text part ending with its last line's CRLF and the one before the next boundary."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if text.isascii() and all(len(line) <= FOLD_AT for line in text.split("\n")):
        encoding, body = "7bit", text.replace("\n", CRLF)
    else:
        # binascii's quoted-printable (C): soft breaks before 76 characters, trailing
        # spaces and "=" escaped, the CRLF line ends of its input kept.
        data = b2a_qp(text.replace("\n", CRLF).encode("utf-8"), istext=True)
        encoding, body = "quoted-printable", data.decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}{CRLF}"
    )


def _parameter(name: str, value: str) -> str:
    if value.isascii() and '"' not in value and "\\" not in value:
        return f'; {name}="{value}"'
    return f"; {name}*={encode_rfc2231(value, 'utf-8')}"


def _attachment_part(attachment: Attachment) -> str:
    params = "".join(_parameter(key, value) for key, value in attachment.params)
    body = base64.encodebytes(attachment.content).decode("ascii").replace("\n", CRLF)
    return (
        f"Content-Type: {attachment.maintype}/{attachment.subtype}{params}{CRLF}"
        f"Content-Transfer-Encoding: base64{CRLF}"
        f"Content-Disposition: attachment{_parameter('filename', attachment.filename)}{CRLF}"
        f"{CRLF}{body}{CRLF}"
    )


def _multipart(subtype: str, parts: Sequence[str]) -> str:
    # "=_" never occurs in quoted-printable or base64, and the rest is unguessable.
    boundary = f"=_{secrets.token_hex(16)}"
    body = "".join(f"--{boundary}{CRLF}{part}" for part in parts)
    return (
        f'Content-Type: multipart/{subtype};{CRLF} boundary="{boundary}"{CRLF}{CRLF}'
        f"{body}--{boundary}--{CRLF}"
    )


def _check_one_line(mail: Mail) -> None:
    """``notifications.headers`` cleans every value; this is the last guard against a value
    that would add a header or end the headers (an ``Address`` refuses CR and LF itself)."""
    values = (mail.subject, mail.message_id, mail.date, mail.language)
    if any("\r" in value or "\n" in value for value in values):
        raise RenderError("a header value holds a line break")


def wire_bytes(mail: Mail) -> bytes:
    """The message as it goes to the relay, lines ending in CRLF."""
    _check_one_line(mail)
    utf8 = bool(mail.smtputf8)
    headers = [
        ("From", _address(mail.sender, utf8=utf8)),
        ("To", _address(mail.to, utf8=utf8)),
        ("Subject", _unstructured(mail.subject, utf8=utf8)),
        ("Message-ID", mail.message_id),
        ("Date", mail.date),
        # Tell autoresponders and mail robots not to answer an automatic message.
        ("Auto-Submitted", "auto-generated"),
    ]
    if mail.reply_to is not None:
        headers.append(("Reply-To", _address(mail.reply_to, utf8=utf8)))
    headers += [("MIME-Version", "1.0"), ("Content-Language", mail.language)]
    body = _multipart(
        "alternative", [_text_part("plain", mail.text), _text_part("html", mail.html)]
    )
    if mail.attachments:
        body = _multipart("mixed", [body, *map(_attachment_part, mail.attachments)])
    head = "".join(f"{name}: {_fold(name, value)}{CRLF}" for name, value in headers)
    return (head + body).encode("utf-8" if utf8 else "ascii")
