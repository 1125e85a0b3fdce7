"""What every board route needs, built once per app: ``board_of(request)`` hands it out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import jinja2
from starlette.requests import Request
from starlette.responses import Response

from states.bootstrap import App
from web.board.config import BoardConfig
from web.board.recent import RecentReports
from web.board.sessions import COOKIE, SessionStore, Signer

if TYPE_CHECKING:  # Authlib is imported only when OpenID Connect is configured
    from web.board.oidc import OidcSignIn

LANGUAGE_COOKIE = "board_language"
COOKIE_PATH = "/board"


@dataclass(frozen=True)
class Board:
    app: App
    config: BoardConfig
    store: SessionStore
    signer: Signer
    oidc: OidcSignIn | None
    env: jinja2.Environment
    clock: Callable[[], datetime]
    reports: RecentReports = field(default_factory=RecentReports)

    def set_session_cookie(self, response: Response, secret: str) -> None:
        response.set_cookie(
            COOKIE,
            self.signer.cookie(secret),
            max_age=int(self.config.absolute.total_seconds()),
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.config.secure_cookies,
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.config.secure_cookies,
        )

    def set_language_cookie(self, response: Response, language: str) -> None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.config.secure_cookies,
        )


def board_of(request: Request) -> Board:
    board = request.app.state.board
    assert isinstance(board, Board)
    return board


def safe_next(target: str | None) -> str:
    """Where to go after signing in or choosing a language: a board page, nowhere else."""
    if (
        not target
        or not target.startswith("/board")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
    ):
        return "/board/"
    return target
