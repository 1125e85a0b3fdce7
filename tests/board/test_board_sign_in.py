"""Signing in to the board through a real OpenID Connect provider, with httpx following its
real redirects and filling in its login and consent pages (issue 12, sign-in)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from models import BoardSession
from tests.board.support import (
    AFFILIATION,
    PAUS,
    BoardServer,
    back_from_provider,
    csrf_of,
    sign_in,
    signed_in_sessions,
    start_sign_in,
    through_provider,
    visible_text,
)
from tests.test_web_support import capturing_logs


def test_a_coordinator_signs_in_through_the_provider_and_sees_her_programmes(
    oidc_board: BoardServer,
) -> None:
    with oidc_board.client() as client:
        assert client.get("/board/").headers["location"] == "/board/login?next=/board/"
        auth = start_sign_in(client)
        anonymous = client.cookies["board_session"]
        query = parse_qs(urlsplit(auth).query)
        assert auth.startswith(oidc_board.app.settings.oidc_issuer or "?")
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["code_challenge"][0]) >= 43
        assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
        assert query["redirect_uri"] == [f"{oidc_board.base}/board/auth/callback"]
        back = through_provider(client, auth, "sara", oidc_board.base)
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/board/"
        cookie = back.headers["set-cookie"]
        for attribute in ("HttpOnly", "Path=/board", "SameSite=lax"):
            assert attribute in cookie
        assert "Secure" not in cookie  # http://127.0.0.1: a Secure cookie would never come back
        assert client.cookies["board_session"] != anonymous  # a new session: no fixation
        page = client.get("/board/")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Inloggad som Sara Lind" in text
    assert "Affilierad kompetens 2027" in text and AFFILIATION in text
    assert PAUS not in text
    with oidc_board.app.reading() as uow:
        rows = uow.session.scalars(select(BoardSession).order_by(BoardSession.id)).all()
        assert [(r.email, r.method, r.ended_at is not None) for r in rows] == [
            (None, None, True),
            ("sara.lind@univ.example", "oidc", False),
        ]
        assert rows[1].groups == ["staff"]


def test_the_email_is_compared_as_registered_and_a_group_claim_gives_access(
    oidc_board: BoardServer,
) -> None:
    with oidc_board.client() as johan, oidc_board.client() as lena:
        assert sign_in(johan, oidc_board, "johan").status_code == 303  # Johan.Ek@UNIV.example
        assert PAUS in johan.get("/board/").text
        assert sign_in(lena, oidc_board, "lena").status_code == 303  # by group only
        page = lena.get("/board/")
        assert PAUS in page.text and AFFILIATION not in page.text
        assert lena.get(f"/board/programmes/{PAUS}").status_code == 200
        assert lena.get(f"/board/programmes/{AFFILIATION}").status_code == 403


def test_an_admin_sees_every_programme_and_anyone_else_gets_a_clear_403(
    oidc_board: BoardServer,
) -> None:
    with oidc_board.client() as karin, oidc_board.client() as olle:
        sign_in(karin, oidc_board, "karin")
        page = visible_text(karin.get("/board/").text)
        assert PAUS in page and AFFILIATION in page and "administratör" in page
        sign_in(olle, oidc_board, "olle")
        refused = olle.get("/board/", headers={"Accept-Language": "en"})
        assert refused.status_code == 403
        text = visible_text(refused.text)
        assert "You have no access" in text
        assert "signed in as olle.utanfor@univ.example, but you coordinate no programme" in text
        assert "Ask the programme's coordinator" in text
        other = visible_text(olle.get(f"/board/programmes/{PAUS}").text)
        assert "Fråga programmets samordnare, Johan Ek (johan.ek@univ.example)" in other


def test_an_unverified_email_is_no_sign_in(oidc_board: BoardServer) -> None:
    with oidc_board.client() as client:
        refused = sign_in(client, oidc_board, "unverified")
        assert refused.status_code == 403
        assert "Inloggningen misslyckades" in refused.text
    assert signed_in_sessions(oidc_board.app) == 0


def test_the_state_is_checked_and_used_once(oidc_board: BoardServer) -> None:
    with oidc_board.client() as client, oidc_board.client() as attacker:
        back = back_from_provider(client, start_sign_in(client), "sara", oidc_board.base)
        assert attacker.get("/board/login").status_code == 200  # an anonymous session of its own
        assert attacker.get(back).status_code == 403  # not the browser that started it
        assert client.get(back.replace("state=", "state=x")).status_code == 403  # not our state
        assert client.get(back).status_code == 403  # the state was spent by the try above
    assert signed_in_sessions(oidc_board.app) == 0


def test_sign_out_ends_the_session_here_and_at_the_provider(oidc_board: BoardServer) -> None:
    with oidc_board.client() as client:
        sign_in(client, oidc_board, "sara")
        stolen = client.cookies["board_session"]
        page = client.get("/board/")
        out = client.post("/board/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 200  # a page that moves on to the provider (CSP form-action)
        refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', out.text)
        assert refresh is not None, out.text
        assert "Sara Lind" not in out.text and "board_session" not in out.text
        end = urlsplit(html.unescape(refresh.group(1)))
        assert f"{end.scheme}://{end.netloc}" == oidc_board.app.settings.oidc_issuer
        assert end.path == "/session/end"
        query = parse_qs(end.query)
        assert query["post_logout_redirect_uri"] == [f"{oidc_board.base}/board/signed-out"]
        assert query["id_token_hint"][0].count(".") == 2
        assert 'board_session=""' in out.headers["set-cookie"]
    with oidc_board.client(cookies={"board_session": stolen}) as replay:
        again = replay.get("/board/")
        assert again.status_code == 303 and again.headers["location"].startswith("/board/login")
    assert signed_in_sessions(oidc_board.app) == 0


def test_no_log_line_holds_the_sign_in_secrets(oidc_board: BoardServer) -> None:
    with oidc_board.client() as client, capturing_logs() as logs:
        auth = start_sign_in(client)
        back = back_from_provider(client, auth, "sara", oidc_board.base)
        assert client.get(back).status_code == 303
        page = client.get("/board/")
        out = client.post("/board/logout", data={"csrf": csrf_of(page.text)})
        cookie = out.request.headers["cookie"]
    secrets = [
        *parse_qs(urlsplit(auth).query)["state"],
        *parse_qs(urlsplit(auth).query)["nonce"],
        *parse_qs(urlsplit(auth).query)["code_challenge"],
        *parse_qs(urlsplit(back).query)["code"],
        cookie.split("board_session=")[1].split(";")[0].split(".")[0],
    ]
    # The test's own client and the proxy log through httpx/httpcore; the product's Authlib
    # through httpx2/httpcore2, uvicorn and web.*: those are the lines to search.
    lines = [line for line in logs.lines() if not line.startswith(("httpx ", "httpcore."))]
    assert any("/board/auth/callback?code=[redacted]" in line for line in lines), lines
    for secret in secrets:
        leaked = [line for line in lines if secret in line]
        assert not leaked, (secret, leaked)
