"""The board's fixtures: ONE real OpenID Connect provider (node, oidc-provider) per session,
behind the token-altering proxy, shared by every sign-in test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from states.bootstrap import App
from tests.board.oidc_provider import Provider, node_and_provider_missing, running_provider
from tests.board.support import BoardServer, board_server, load_board_programmes


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    missing = node_and_provider_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the board's sign-in tests need the OpenID provider: {missing}")
        pytest.skip(f"the board's sign-in tests need the OpenID provider: {missing}")
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def provider(oidc_provider: Provider) -> Iterator[Provider]:
    oidc_provider.proxy.alter = None
    yield oidc_provider
    oidc_provider.proxy.alter = None


def _served(app: App, tmp_path: Path, provider: Provider | None) -> Iterator[BoardServer]:
    load_board_programmes(app)
    url = app.settings.resolved_database_url
    with board_server(url, tmp_path / "board-var", provider=provider) as server:
        yield server


@pytest.fixture
def programmes(any_app: App) -> App:
    load_board_programmes(any_app)
    return any_app


@pytest.fixture
def oidc_board(any_app: App, provider: Provider, tmp_path: Path) -> Iterator[BoardServer]:
    """The app with OpenID Connect sign-in, on SQLite and (when configured) PostgreSQL."""
    yield from _served(any_app, tmp_path, provider)


@pytest.fixture
def dev_board(any_app: App, tmp_path: Path) -> Iterator[BoardServer]:
    """The app with the development sign-in (no OpenID Connect settings)."""
    yield from _served(any_app, tmp_path, None)


# SQLite only: for what the browser or the provider does, not the database.


@pytest.fixture
def sqlite_oidc_board(sqlite_app: App, provider: Provider, tmp_path: Path) -> Iterator[BoardServer]:
    yield from _served(sqlite_app, tmp_path, provider)


@pytest.fixture
def sqlite_dev_board(sqlite_app: App, tmp_path: Path) -> Iterator[BoardServer]:
    yield from _served(sqlite_app, tmp_path, None)
