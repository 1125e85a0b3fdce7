"""A tampered ID token is no sign-in. The provider is real; a proxy in front of it alters its
token response (re-signed with the provider's own key, so only the altered claim is wrong, or
signed with a key it never published)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from states.bootstrap import App
from tests.board.oidc_provider import (
    Provider,
    TokenAlteration,
    another_key,
    resigned,
    unsigned,
    without_id_token,
)
from tests.board.support import BoardServer, board_server, sign_in, signed_in_sessions
from tests.test_web_support import capturing_logs


def _set(**claims: Any) -> Callable[[dict[str, Any]], None]:
    def change(token: dict[str, Any]) -> None:
        token.update(claims)

    return change


def _other_audience(token: dict[str, Any]) -> None:
    # azp stays ours: Authlib's own checks (azp, not aud) would let this one through.
    token["azp"] = token["aud"]
    token["aud"] = "another-client"


def alterations(provider: Provider) -> dict[str, tuple[TokenAlteration, str]]:
    now = int(time.time())
    key = provider.key
    return {
        "wrong audience": (resigned(_other_audience, key=key), "aud"),
        "wrong signature": (resigned(_set(), key=another_key()), "signature"),
        "wrong nonce": (resigned(_set(nonce="not-the-nonce-we-sent"), key=key), "nonce"),
        "wrong issuer": (resigned(_set(iss="https://idp.evil.example"), key=key), "iss"),
        "expired": (resigned(_set(exp=now - 3600, iat=now - 7200), key=key), "expired"),
        "no signature (alg none)": (unsigned, "none"),
        "no ID token": (without_id_token, "no ID token"),
    }


CASES = [
    "wrong audience",
    "wrong signature",
    "wrong nonce",
    "wrong issuer",
    "expired",
    "no signature (alg none)",
    "no ID token",
]


@pytest.mark.parametrize("case", CASES)
def test_a_tampered_id_token_is_refused(
    sqlite_oidc_board: BoardServer, provider: Provider, case: str
) -> None:
    alteration, reason = alterations(provider)[case]
    provider.proxy.alter = alteration
    before = provider.proxy.token_responses
    with sqlite_oidc_board.client() as client, capturing_logs() as logs:
        refused = sign_in(client, sqlite_oidc_board, "sara")
        assert provider.proxy.token_responses == before + 1  # the real provider did answer
        assert refused.status_code == 403, refused.text
        assert "Inloggningen misslyckades" in refused.text
        assert "board_session" not in refused.headers.get("set-cookie", "")
        again = client.get("/board/")
        assert again.status_code == 303 and again.headers["location"].startswith("/board/login")
    assert signed_in_sessions(sqlite_oidc_board.app) == 0
    refusals = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert any("sign-in refused" in line for line in refusals), refusals
    assert any(reason.lower() in line.lower() for line in refusals), (reason, refusals)


def test_the_same_proxy_passing_the_token_unchanged_signs_in(
    sqlite_oidc_board: BoardServer, provider: Provider
) -> None:
    """The control: the re-signing itself is not what the board refuses."""
    provider.proxy.alter = resigned(_set(), key=provider.key)
    with sqlite_oidc_board.client() as client:
        assert sign_in(client, sqlite_oidc_board, "sara").status_code == 303
    assert signed_in_sessions(sqlite_oidc_board.app) == 1


def test_a_provider_that_is_not_the_configured_issuer_is_refused(
    sqlite_app: App, provider: Provider, tmp_path: Path
) -> None:
    """Configured with the provider's own address: its discovery names another issuer."""
    url = sqlite_app.settings.resolved_database_url
    with (
        board_server(
            url, tmp_path / "v", provider=provider, oidc_issuer=provider.proxy.upstream
        ) as server,
        server.client() as client,
        capturing_logs() as logs,
    ):
        page = client.get("/board/login")
        start = client.get("/board/auth/start")
        assert page.status_code == 200 and start.status_code == 403
        assert "Inloggningen misslyckades" in start.text
    errors = [r.getMessage() for r in logs.records if r.levelno == logging.ERROR]
    assert any("discovery names issuer" in line for line in errors), errors
