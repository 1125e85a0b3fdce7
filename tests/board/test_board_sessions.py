"""Board sessions and forms (issue 12, "Sessions and forms"): a forged or expired cookie is
refused, a POST without its session's CSRF token changes nothing, the pages carry the link
pages' security headers, the language is the person's choice, remembered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from models import BoardSession, HistoryEntry, Placement
from states.bootstrap import App
from tests.board.support import (
    AFFILIATION,
    JOHAN,
    SARA,
    BoardServer,
    board_server,
    csrf_of,
    dev_sign_in,
    signed_in_sessions,
    visible_text,
)
from tests.conftest import propose_example
from tests.test_web_support import assert_security_headers
from web.board.sessions import Signer


def goes_to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/board/login")


def test_a_forged_cookie_is_refused(dev_board: BoardServer) -> None:
    with dev_board.client() as client:
        dev_sign_in(client, SARA)
        real = client.cookies["board_session"]
        secret, signature = real.split(".")
        forged = {
            "signature changed": f"{secret}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
            "secret changed": f"{'A' if secret[0] != 'A' else 'B'}{secret[1:]}.{signature}",
            "no signature": secret,
            "signed with another key": Signer(b"another-secret-key").cookie(secret),
            "a valid signature on a secret we never issued": Signer(
                dev_board.app.settings.resolved_secret_key()
            ).cookie("made-up-secret"),
        }
    for name, cookie in forged.items():
        with dev_board.client(cookies={"board_session": cookie}) as client:
            assert goes_to_sign_in(client.get("/board/")), name
            assert goes_to_sign_in(client.get(f"/board/programmes/{AFFILIATION}")), name
    with dev_board.client(cookies={"board_session": real}) as client:
        assert client.get("/board/").status_code == 200  # the real one still works


def test_a_session_idle_too_long_is_over(dev_board: BoardServer) -> None:
    idle = dev_board.app.settings.board_idle_minutes
    with dev_board.client() as client:
        dev_sign_in(client, SARA)
        for _ in range(3):  # active every idle-5 minutes: still signed in
            dev_board.clock.now += timedelta(minutes=idle - 5)
            assert client.get("/board/").status_code == 200
        dev_board.clock.now += timedelta(minutes=idle + 1)
        assert goes_to_sign_in(client.get("/board/"))
        dev_board.clock.now += timedelta(minutes=1)
        assert goes_to_sign_in(client.get("/board/"))  # over for good, not only this once
    with dev_board.app.reading() as uow:
        ended = uow.session.scalars(select(BoardSession).where(BoardSession.email == SARA)).one()
        assert ended.ended_at is not None


def test_a_session_ends_at_its_absolute_expiry_however_active(dev_board: BoardServer) -> None:
    hours = dev_board.app.settings.board_absolute_hours
    with dev_board.client() as client:
        dev_sign_in(client, SARA)
        started = dev_board.clock.now
        while dev_board.clock.now + timedelta(minutes=20) < started + timedelta(hours=hours):
            dev_board.clock.now += timedelta(minutes=20)
            assert client.get("/board/").status_code == 200
        dev_board.clock.now = started + timedelta(hours=hours)
        assert goes_to_sign_in(client.get("/board/"))
    assert signed_in_sessions(dev_board.app) == 0


def _state_and_history(app: App, reference: str) -> tuple[str, int]:
    with app.reading() as uow:
        placement = uow.session.scalars(
            select(Placement).where(Placement.reference == reference)
        ).one()
        entries = uow.session.scalars(
            select(HistoryEntry).where(HistoryEntry.placement_id == placement.id)
        ).all()
        return placement.state, len(entries)


def test_a_post_without_or_with_a_wrong_csrf_token_changes_nothing(dev_board: BoardServer) -> None:
    app = dev_board.app
    reference = propose_example(app, draft=True)
    submit = f"/board/programmes/{AFFILIATION}/placements/{reference}/submit"
    with dev_board.client() as other:
        dev_sign_in(other, SARA)
        other_token = csrf_of(other.get("/board/").text)  # Sara's, but another session's
    with dev_board.client() as client:
        dev_sign_in(client, SARA)
        token = csrf_of(client.get("/board/").text)
        before = _state_and_history(app, reference)
        for form in ({}, {"csrf": ""}, {"csrf": "x" * 43}, {"csrf": other_token}):
            for path, data in (
                (submit, {}),
                ("/board/logout", {}),
                ("/board/language", {"language": "en", "next": "/board/"}),
            ):
                refused = client.post(path, data={**data, **form})
                assert refused.status_code == 403, (path, form)
                assert "Ingenting har ändrats" in visible_text(refused.text)
                assert_security_headers(refused)
        assert _state_and_history(app, reference) == before  # not submitted
        assert "board_language" not in client.cookies  # no language chosen
        page = client.get("/board/")
        assert page.status_code == 200 and '<html lang="sv">' in page.text  # still signed in
        # With the token, the same POSTs do what they say.
        assert client.post(submit, data={"csrf": token}).status_code == 200
        assert _state_and_history(app, reference) == ("manager_approval", before[1] + 1)


def test_every_board_page_has_the_link_pages_security_headers(dev_board: BoardServer) -> None:
    with dev_board.client() as client:
        pages = [client.get("/board/login"), client.get("/board/signed-out")]
        dev_sign_in(client, JOHAN)
        pages += [
            client.get("/board/"),
            client.get(f"/board/programmes/{AFFILIATION}"),  # 403
            client.get("/board/programmes/no-such-programme"),  # 404
        ]
    assert [p.status_code for p in pages] == [200, 200, 200, 403, 404]
    for page in pages:
        assert_security_headers(page)
        csp = page.headers["content-security-policy"]
        assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text


@pytest.mark.parametrize(
    ("accept", "language"),
    [("en-GB,en;q=0.9", "en"), ("sv-SE", "sv"), ("de-DE,en;q=0.5,sv;q=0.8", "sv"), ("", "sv")],
)
def test_the_language_defaults_from_accept_language(
    dev_board: BoardServer, accept: str, language: str
) -> None:
    with dev_board.client(headers={"Accept-Language": accept}) as client:
        assert f'<html lang="{language}">' in client.get("/board/login").text


def test_the_chosen_language_is_remembered_across_sign_out(dev_board: BoardServer) -> None:
    with dev_board.client(headers={"Accept-Language": "sv"}) as client:
        dev_sign_in(client, SARA)
        page = client.get("/board/")
        chosen = client.post(
            "/board/language",
            data={"csrf": csrf_of(page.text), "language": "en", "next": "/board/"},
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/board/"
        assert "Your programmes" in client.get("/board/").text
        out = client.post("/board/logout", data={"csrf": csrf_of(page.text)})
        assert out.headers["location"] == "/board/signed-out"
        assert "You are signed out" in client.get("/board/signed-out").text
        assert '<html lang="en">' in client.get("/board/login").text


def test_the_cookies_are_secure_when_the_board_is_served_over_https(
    programmes: App, tmp_path: Path
) -> None:
    url = programmes.settings.resolved_database_url
    with (
        board_server(url, tmp_path / "v", public_url="https://board.univ.example") as server,
        server.client() as client,
    ):
        cookie = client.get("/board/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
