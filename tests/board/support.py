"""Helpers for the board's tests (no tests here): a board server over a database, the example
programmes with their coordinators, and signing in as a person would — through the real
OpenID provider's pages with httpx, or with the development sign-in."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from sqlalchemy import func, select

from config import Settings
from models import BoardSession
from states.bootstrap import App, bootstrap
from states.intake.input_files import load_programme
from states.intake.registration import register_programme
from tests.board.oidc_provider import Provider
from tests.conftest import EXAMPLES
from web.app import create_app
from web.server import free_port, serving

PAUS = "paus-2027"
AFFILIATION = "affilierad-kompetens-2027"
JOHAN = "johan.ek@univ.example"  # coordinates paus-2027
SARA = "sara.lind@univ.example"  # coordinates affilierad-kompetens-2027


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class BoardServer:
    app: App
    base: str
    clock: Clock

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, **kwargs)


def load_board_programmes(app: App) -> None:
    """The two example programmes; paus-2027 is also coordinated by an IdP group."""
    for name, groups in (
        ("programme-paus.yaml", ["paus-coordinators"]),
        ("programme-affiliation.yaml", []),
    ):
        programme, source = load_programme(EXAMPLES / name)
        programme = programme.model_copy(
            update={"coordinators": programme.coordinators.model_copy(update={"groups": groups})}
        )
        register_programme(app.uow(), programme=programme, source=source)


@contextlib.contextmanager
def board_server(
    database_url: str,
    var_dir: Path,
    *,
    provider: Provider | None = None,
    admins: str = "mobility-admins",
    public_url: str | None = None,
    dev_mail: bool = False,
    **settings: Any,
) -> Iterator[BoardServer]:
    """The whole web app on a free port, with OpenID Connect against ``provider`` if given;
    ``public_url``: the base URL it believes it has (default: where it listens); ``dev_mail``
    adds the catcher's pages (/dev/mail)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    oidc: dict[str, Any] = {}
    if provider is not None:
        client_id, secret = provider.register_client(base)
        oidc = {"oidc_issuer": provider.issuer, "oidc_client_id": client_id}
        oidc["oidc_client_secret"] = secret
    app = bootstrap(
        Settings(
            database_url=database_url,
            var_dir=var_dir,
            secret_key="test-secret-key",
            base_url=public_url or base,
            board_admins=admins,
            _env_file=None,  # type: ignore[call-arg]
            **{**oidc, **settings},
        )
    )
    clock = Clock()
    web = create_app(app, dev_mail=dev_mail, clock=clock)
    with serving(web, port=port, log_level="warning"):
        yield BoardServer(app=app, base=base, clock=clock)


# --- reading pages -----------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    inputs: dict[str, str]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get"), {}))
            return
        named = tag in ("input", "button") and self.forms and values.get("name")
        chosen = values.get("type") not in ("radio", "checkbox") or "checked" in values
        if named and chosen:
            self.forms[-1].inputs.setdefault(values["name"], values.get("value", ""))


def forms_of(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def csrf_of(page: str) -> str:
    tokens = {f.inputs["csrf"] for f in forms_of(page) if "csrf" in f.inputs}
    assert len(tokens) == 1, tokens
    return tokens.pop()


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# --- signing in ------------------------------------------------------------------------------


def start_sign_in(client: httpx.Client, next_page: str = "/board/") -> str:
    """Open the sign-in page and follow its link: the provider's authorization URL."""
    page = client.get("/board/login", params={"next": next_page})
    assert page.status_code == 200, page.text
    start = re.search(r'href="(/board/auth/start[^"]*)"', page.text)
    assert start is not None, page.text
    redirect = client.get(html.unescape(start.group(1)))
    assert redirect.status_code == 302, redirect.text
    return redirect.headers["location"]


def back_from_provider(client: httpx.Client, url: str, login: str, board: str) -> str:
    """Follow the provider's redirects and fill in its login and consent pages as a person
    would; returns the provider's redirect back to the board (not yet opened)."""
    response = client.get(url)
    for _ in range(20):
        if response.is_redirect:
            url = urljoin(str(response.url), response.headers["location"])
            if url.startswith(board):
                return url
            response = client.get(url)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:2000])
        form = forms_of(response.text)[0]
        data = dict(form.inputs)
        if data.get("prompt") == "login":
            data.update(login=login, password="any password")
        response = client.post(urljoin(str(response.url), form.action), data=data)
    raise AssertionError("the provider never sent the browser back")


def through_provider(client: httpx.Client, url: str, login: str, board: str) -> httpx.Response:
    """The board's answer to the provider's redirect back (not followed)."""
    return client.get(back_from_provider(client, url, login, board))


def sign_in(client: httpx.Client, server: BoardServer, login: str) -> httpx.Response:
    return through_provider(client, start_sign_in(client), login, server.base)


def dev_sign_in(client: httpx.Client, email: str, next_page: str = "/board/") -> httpx.Response:
    page = client.get("/board/login", params={"next": next_page})
    assert page.status_code == 200, page.text
    return client.post(
        "/board/login/dev", data={"csrf": csrf_of(page.text), "email": email, "next": next_page}
    )


def signed_in_sessions(app: App) -> int:
    with app.reading() as uow:
        query = (
            select(func.count())
            .select_from(BoardSession)
            .where(BoardSession.email.is_not(None), BoardSession.ended_at.is_(None))
        )
        return int(uow.session.scalar(query) or 0)
