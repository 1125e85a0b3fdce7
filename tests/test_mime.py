"""The emails' wire form (``notifications.mime``): what a mail client parses from it is what
was rendered, every header line short and ASCII unless SMTPUTF8, and the link's placeholder
spliced gives exactly the bytes rendering with the token would."""

from __future__ import annotations

from email import message_from_bytes, message_from_string, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

import pytest

import notifications.mime as mime
from notifications.headers import RenderError
from notifications.mime import Attachment, Mail, wire_bytes
from notifications.prerendered import PreRendered, new_placeholder, occurrences

NAMES = [
    "Åsa Öberg",
    'Ek, "Johan" (IT)',
    "Nguyễn Thị Minh Khai 🌍 " * 6,
    "Zoë Ångström-Ärlig",
    "Plain Ascii",
    "",
]
SUBJECTS = [
    "Godkännande begärs: Åsa Öberg till Värd AB (PL-2027-0001)",
    "A plain subject",
    "Ärende " + "längre ämnesrad med många ord och åäö " * 7,
    "x" * 250,
    "😀" * 60,
    "=?utf-8?q?not_an_encoded_word?= _ ? =",
]


def _mail(**changes: object) -> Mail:
    fields: dict[str, object] = {
        "sender": Address("Mobility Engine", "mobility", "univ.example"),
        "to": Address("Åsa Öberg", "asa.oberg", "univ.example"),
        "subject": "Godkännande begärs",
        "message_id": "<abc@univ.example>",
        "date": "Wed, 02 Dec 2026 17:55:51 +0100",
        "language": "sv",
        "text": "Hej Åsa!\n\nLänken: https://mobility.example/l/xyz\n",
        "html": '<p>Hej Åsa!</p>\n<p><a href="https://mobility.example/l/xyz">Länk</a></p>\n',
        "reply_to": Address("Johan Ek", "johan.ek", "univ.example"),
    }
    fields.update(changes)
    return Mail(**fields)  # type: ignore[arg-type]


def _parsed(data: bytes) -> EmailMessage:
    """As a mail client stores it: line ends its own, UTF-8 headers read as UTF-8."""
    text = data.decode("utf-8").replace("\r\n", "\n")
    parsed = message_from_string(text, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _display_name(data: bytes, header: str) -> str:
    """The display name as RFC 2047 decodes it: adjacent encoded words joined without the
    space between them. (Python's newer address parser keeps that space, in what its own
    EmailMessage writes too; mail clients do not.)"""
    raw = message_from_bytes(data)[header]  # compat32: the header as written, unfolded
    name, _ = parseaddr(raw.replace("\r\n", ""))
    return str(make_header(decode_header(name)))


def _lines(data: bytes) -> list[bytes]:
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    return data.split(b"\r\n")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_client_reads_the_names_and_subject_given_from_short_ascii_lines(
    name: str, subject: str
) -> None:
    data = wire_bytes(_mail(to=Address(name, "asa.oberg", "univ.example"), subject=subject))
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in _lines(head):
        assert line.isascii()
        text = line.strip() if line.startswith(b" ") else line.partition(b": ")[2]
        assert len(line) <= 78 or b" " not in text, line  # over 78 only without a space
    parsed = _parsed(data)
    assert str(parsed["Subject"]) == subject
    (address,) = parsed["To"].addresses
    assert address.addr_spec == "asa.oberg@univ.example"
    assert _display_name(data, "To") == name
    if len(name) < 20:  # one encoded word: Python's parser reads it right too
        assert address.display_name == name
    assert parsed["Reply-To"].addresses[0].addr_spec == "johan.ek@univ.example"
    assert len(parsed.keys()) == len(set(parsed.keys()))


def test_with_smtputf8_the_headers_are_utf8_and_read_back_the_same() -> None:
    mail = _mail(to=Address('Zoë "Z" Öberg', "zoë", "univ.example"))
    assert mail.smtputf8 == ("zoë@univ.example",)
    data = wire_bytes(mail)
    assert 'To: "Zoë \\"Z\\" Öberg" <zoë@univ.example>'.encode() in data
    parsed = _parsed(data)
    assert parsed["To"].addresses[0].display_name == 'Zoë "Z" Öberg'
    assert str(parsed["Subject"]) == "Godkännande begärs"


@pytest.mark.parametrize(
    "text",
    [
        "Hej Åsa!\n\n" + "ett långt stycke text utan radbrytning " * 20 + "\n-- \nslut  \n",
        "short ascii\n.a line starting with a dot\nFrom the start\n",
        "x" * 300 + "\n",
        "tab\tand trailing space \nand = signs =3D\n",
    ],
)
def test_the_text_and_html_a_client_reads_are_those_rendered(text: str) -> None:
    html = "<p>" + text.replace("\n", "</p>\n<p>") + "</p>\n"
    parsed = _parsed(wire_bytes(_mail(text=text, html=html)))
    assert parsed.get_content_type() == "multipart/alternative"
    plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content() == text
    assert rich.get_content() == html
    for line in _lines(wire_bytes(_mail(text=text, html=html))):
        assert len(line) <= 78


def test_attachments_arrive_byte_for_byte_with_their_names() -> None:
    calendar = "BEGIN:VCALENDAR\r\nSUMMARY:Placering hos Värd AB\r\nEND:VCALENDAR\r\n".encode()
    pdf = bytes(range(256)) * 40
    attachments = (
        Attachment(calendar, "text", "calendar", "PL-2027-0001.ics", (("method", "PUBLISH"),)),
        Attachment(pdf, "application", "pdf", "Överenskommelse PL-2027-0001.pdf"),
    )
    parsed = _parsed(wire_bytes(_mail(attachments=attachments)))
    assert parsed.get_content_type() == "multipart/mixed"
    found = {part.get_filename(): part for part in parsed.iter_attachments()}
    assert set(found) == {"PL-2027-0001.ics", "Överenskommelse PL-2027-0001.pdf"}
    assert found["PL-2027-0001.ics"].get_payload(decode=True) == calendar
    assert found["PL-2027-0001.ics"].get_param("method") == "PUBLISH"
    assert found["Överenskommelse PL-2027-0001.pdf"].get_payload(decode=True) == pdf
    assert parsed.get_body(("plain",)) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hej\r\nBcc: someone@example.org"},
        {"message_id": "<a@b>\r\nBcc: x@example.org"},
    ],
)
def test_a_value_holding_a_line_break_is_refused_not_written(changes: dict[str, object]) -> None:
    with pytest.raises(RenderError, match="line break"):
        wire_bytes(_mail(**changes))


@pytest.mark.parametrize("offset", range(0, 90, 7))
def test_splicing_the_token_gives_the_bytes_writing_with_it_would(
    offset: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wherever quoted-printable breaks the line, inside the placeholder too."""
    monkeypatch.setattr(mime.secrets, "token_hex", lambda _: "boundary")

    def written(token: str) -> bytes:
        line = "å" + "x" * offset + f"https://mobility.example/l/{token} " + "o" * 80 + "ö"
        html = f'<p>ä{"x" * offset}<a href="/l/{token}">{token}</a></p>\n'
        return wire_bytes(_mail(text=line + "\n", html=html))

    placeholder, token = new_placeholder(), new_placeholder()
    message = PreRendered(written(placeholder), placeholder, "a@example.org", "Länk", ())
    assert b"Content-Transfer-Encoding: quoted-printable" in message.data
    assert occurrences(message.data, placeholder) == 3
    assert message.splice(token) == written(token)
