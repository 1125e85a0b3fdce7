"""The embedded default (issue 12): with no OpenID Connect settings the board offers a
development sign-in, only on 127.0.0.1, with a banner; bound elsewhere it refuses to start
with one clear line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from states.bootstrap import App
from tests.board.support import (
    JOHAN,
    SARA,
    BoardServer,
    board_server,
    csrf_of,
    dev_sign_in,
    forms_of,
    visible_text,
)
from tests.cli_runner import Run, mobility_runner
from web.app import create_app


@pytest.fixture
def run(
    sqlite_app: App,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Run]:
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"MOBILITY_OIDC_{name}", raising=False)

    def would_start(*_: object, **__: object) -> None:
        raise AssertionError("the server would have started")

    # Should a refusal ever fail to refuse, the test fails instead of serving forever.
    monkeypatch.setattr("web.server.run", would_start)
    monkeypatch.setattr("cli.stack.Supervisor.run", would_start)
    return mobility_runner(
        monkeypatch, capsys, database_url=sqlite_app.settings.resolved_database_url, work=tmp_path
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "board.univ.example"])
def test_mobility_web_refuses_to_serve_the_board_off_loopback_without_oidc(
    run: Callable[..., Run], host: str
) -> None:
    refused = run("web", "--host", host, "--port", "1")
    assert refused.code == 2
    assert refused.err.strip().splitlines() == [
        f"error: the board has no sign-in for {host}: set MOBILITY_OIDC_ISSUER, "
        "MOBILITY_OIDC_CLIENT_ID and MOBILITY_OIDC_CLIENT_SECRET, or serve on 127.0.0.1"
    ]
    assert "Traceback" not in refused.out + refused.err


def test_half_configured_oidc_is_one_line_for_web_and_up(
    run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOBILITY_OIDC_ISSUER", "https://login.univ.example")
    for command in (("web", "--port", "1"), ("up", "--web-port", "1")):
        refused = run(*command)
        assert refused.code == 2, command
        assert refused.err.strip().splitlines() == [
            "error: OpenID Connect sign-in is half configured: set MOBILITY_OIDC_CLIENT_ID, "
            "MOBILITY_OIDC_CLIENT_SECRET"
        ], command


def test_an_issuer_without_https_is_refused(
    run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOBILITY_OIDC_ISSUER", "http://login.univ.example")
    monkeypatch.setenv("MOBILITY_OIDC_CLIENT_ID", "board")
    monkeypatch.setenv("MOBILITY_OIDC_CLIENT_SECRET", "s3cret")
    refused = run("web", "--port", "1")
    assert refused.code == 2
    assert "MOBILITY_OIDC_ISSUER must be an https:// address" in refused.err


def test_the_dev_sign_in_says_so_on_every_page(dev_board: BoardServer) -> None:
    with dev_board.client(headers={"Accept-Language": "en"}) as client:
        pages = [client.get("/board/login"), client.get("/board/signed-out")]
        dev_sign_in(client, JOHAN)
        pages += [client.get("/board/"), client.get("/board/programmes/paus-2027")]
        for page in pages:
            assert page.status_code == 200
            assert (
                "Development sign-in: anyone on this computer can sign in as any coordinator"
                in (visible_text(page.text))
            )


def test_the_dev_sign_in_offers_the_coordinators_and_accepts_no_one_else(
    dev_board: BoardServer,
) -> None:
    with dev_board.client() as client:
        page = client.get("/board/login")
        assert [f.inputs.get("email") for f in forms_of(page.text) if "email" in f.inputs] == [
            JOHAN  # the first, checked; Sara is the other choice
        ]
        text = visible_text(page.text)
        assert f"Johan Ek ({JOHAN})" in text and f"Sara Lind ({SARA})" in text
        refused = client.post(
            "/board/login/dev", data={"csrf": csrf_of(page.text), "email": "mallory@evil.example"}
        )
        assert refused.status_code == 403
        assert client.get("/board/").status_code == 303


def test_a_named_dev_coordinator_is_the_only_one_offered(programmes: App, tmp_path: Path) -> None:
    url = programmes.settings.resolved_database_url
    with board_server(url, tmp_path / "v", dev_coordinator=SARA) as server, server.client() as c:
        page = c.get("/board/login")
        assert SARA in page.text and JOHAN not in page.text
        assert dev_sign_in(c, JOHAN).status_code == 403
        assert dev_sign_in(c, SARA).status_code == 303


def test_the_dev_sign_in_refuses_a_request_from_another_machine(programmes: App) -> None:
    """Defence in depth: even if the server were bound elsewhere, the dev sign-in answers only
    loopback clients (the request never leaves this process: ASGI transport)."""
    web = create_app(programmes, dev_mail=False)
    for client_address, allowed in ((("192.0.2.7", 50000), False), (("127.0.0.1", 50000), True)):
        with TestClient(
            web, base_url="http://board.test", client=client_address, follow_redirects=False
        ) as client:
            response = dev_sign_in(client, JOHAN)
            assert (response.status_code == 303) is allowed, client_address
            if not allowed:
                assert response.status_code == 403
                assert "bara från den här datorn" in visible_text(response.text)


def test_with_oidc_there_is_no_dev_sign_in(oidc_board: BoardServer) -> None:
    with oidc_board.client() as client:
        page = client.get("/board/login")
        assert "Utvecklingsinloggning" not in page.text
        assert 'href="/board/auth/start' in page.text
        refused = client.post("/board/login/dev", data={"csrf": csrf_of(page.text), "email": JOHAN})
        assert refused.status_code == 404
        assert client.get("/board/").status_code == 303
