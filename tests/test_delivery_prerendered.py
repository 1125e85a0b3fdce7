"""A message is rendered once, its link a placeholder: the sender splices the raw token in, a
message that must be retried keeps its rendered bytes (never the raw token) and the retry
renders nothing; the bytes go once the message is sent."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from sqlalchemy import select

import notifications.render as render
from models import ActionToken, OutboxMessage
from notifications.prerendered import PreRendered, new_placeholder, occurrences
from states.bootstrap import App
from tests.conftest import load_examples, propose_example
from tests.smtp_server import smtp_server
from tests.test_delivery import DAY, check_link, deliver

LATER = timedelta(hours=2)


def kept(app: App) -> dict[int, bytes | None]:
    with app.reading() as uow:
        return dict(uow.session.execute(select(OutboxMessage.id, OutboxMessage.rendered)).all())


def raw_tokens(app: App) -> list[str]:
    with app.reading() as uow:
        tokens = uow.session.scalars(select(ActionToken)).all()
        return [app.config.minter.raw_for(token) for token in tokens]


def test_a_retried_message_is_sent_as_first_rendered_with_a_working_link(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_examples(any_app)
    propose_example(any_app, as_of=DAY)  # two approval requests, a link each
    with smtp_server() as server:
        server.faults.fail_first = 2
        first = deliver(any_app, server)
        assert (first.claimed, first.sent, first.retried) == (2, 0, 2)
    blobs = kept(any_app)
    assert all(blob is not None for blob in blobs.values())
    for blob in blobs.values():
        assert blob is not None
        message = PreRendered.from_blob(blob)
        assert message.placeholder and occurrences(message.data, message.placeholder) >= 2
        for raw in raw_tokens(any_app):  # the database never holds a working link
            assert raw.encode() not in blob

    rendered = 0
    real = render.render_message

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal rendered
        rendered += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "render_message", counting)
    with smtp_server() as server:
        second = deliver(any_app, server, now=DAY + LATER)
        assert (second.claimed, second.sent) == (2, 2)
        messages = server.messages
    assert rendered == 0  # the retry spliced the link into the kept bytes
    for message in messages:
        check_link(any_app, message, purpose="approval", now=DAY + LATER)
        assert message["Subject"]
    assert set(kept(any_app).values()) == {None}  # sent: nothing kept


@pytest.mark.parametrize("offset", range(0, 90, 7))
def test_splicing_the_token_gives_the_bytes_rendering_with_it_would(offset: int) -> None:
    """Wherever quoted-printable breaks the line, inside the placeholder too."""

    def flattened(token: str) -> bytes:
        email = EmailMessage()
        email["Subject"] = "Länk"
        line = "å" + "x" * offset + f"https://mobility.example/l/{token} " + "o" * 80 + "ö"
        email.set_content(line + "\n", charset="utf-8")
        email.add_alternative(f'<p>ä{"x" * offset}<a href="/l/{token}">{token}</a></p>\n')
        assert {p["Content-Transfer-Encoding"] for p in email.iter_parts()} == {"quoted-printable"}
        email.set_boundary("boundary")  # else random: the one difference left
        return email.as_bytes(policy=SMTP)

    placeholder, token = new_placeholder(), new_placeholder()
    message = PreRendered(flattened(placeholder), placeholder, "a@example.org", "Länk", ())
    assert occurrences(message.data, placeholder) == 3
    assert message.splice(token) == flattened(token)
