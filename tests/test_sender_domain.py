"""The sender's domain is a setting the deployer is told to set: with the defaults, From, the
Message-IDs and the calendar events' UIDs say @localhost, and ``mobility up`` says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.stack import _announcement
from config import Settings
from states.bootstrap import message_id_domain, sender_domain_is_local


def settings(**values: object) -> Settings:
    return Settings(var_dir=Path("var"), _env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("mail_from", "local"),
    [
        ("Mobility Engine <mobility@localhost>", True),
        ("mobility@mobility.localhost", True),
        ("Personrörlighet <mobility@univ.example.se>", False),
        ("mobility@exämple.se", False),
    ],
)
def test_a_local_sender_domain_is_noticed(mail_from: str, local: bool) -> None:
    assert sender_domain_is_local(mail_from) is local


def test_mobility_up_warns_while_the_sender_is_at_localhost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MOBILITY_MAIL_FROM", "MOBILITY_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    default = settings()
    assert message_id_domain(default.mail_from) == "localhost"
    text = _announcement(
        default,
        host="127.0.0.1",
        web_port=8000,
        api_url="http://x/api",
        own_server=True,
        every=60,
        dev_sign_in=False,
    )
    assert "warning" in text and "MOBILITY_MAIL_FROM" in text and "@localhost" in text
    own = settings(mail_from="Mobility <mobility@univ.example.se>")
    text = _announcement(
        own,
        host="127.0.0.1",
        web_port=8000,
        api_url="http://x/api",
        own_server=True,
        every=60,
        dev_sign_in=False,
    )
    assert "warning" not in text
