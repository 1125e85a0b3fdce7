"""The coordinator's board under ``/board``: signed in (OpenID Connect, or a development
sign-in on 127.0.0.1 only), programme by programme as ``states.access.may_see`` allows, every
POST with its session's CSRF token. ``add_board`` mounts it on the app."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import jinja2
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from states.bootstrap import App
from web.board.config import board_config
from web.board.context import Board
from web.board.guard import BoardRefusal, NotSignedIn, csrf_protect, signed_in
from web.board.rendering import message, refusal_page, texts_for
from web.board.sessions import SessionStore, Signer
from web.middleware import WiderLimit

PREFIX = "/board"


def board_body_limits() -> list[WiderLimit]:
    """The board's routes that take a file, with their limit (the file and the form around
    it) and their own 413 page."""
    from web.board import routes_intake
    from web.board.uploads import UPLOAD_LIMIT

    return [
        WiderLimit(
            path=re.compile(routes_intake.INTAKE_PATH),
            limit=UPLOAD_LIMIT + 64 * 1024,
            too_large=routes_intake.too_large,
        )
    ]


def add_board(
    web: FastAPI, *, app: App, env: jinja2.Environment, clock: Callable[[], datetime]
) -> None:
    from web.board import (
        routes_actions,
        routes_auth,
        routes_intake,
        routes_placements,
        routes_programmes,
        routes_report,
    )

    config = board_config(app.settings)
    oidc = None
    if config.oidc is not None:
        from web.board.oidc import OidcSignIn

        oidc = OidcSignIn(config)
    web.state.board = Board(
        app=app,
        config=config,
        store=SessionStore(app, config, clock),
        signer=Signer(app.settings.resolved_secret_key()),
        oidc=oidc,
        env=env,
        clock=clock,
    )
    router = APIRouter(dependencies=[Depends(csrf_protect)])
    router.include_router(routes_auth.router)
    router.include_router(routes_programmes.router)
    router.include_router(routes_placements.router)
    router.include_router(routes_actions.router)
    router.include_router(routes_intake.router)
    router.include_router(routes_report.router)
    web.include_router(router, prefix=PREFIX)

    @web.get(PREFIX, include_in_schema=False)
    def board_root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    web.add_exception_handler(NotSignedIn, _not_signed_in)
    web.add_exception_handler(BoardRefusal, _refused)


async def _not_signed_in(request: Request, _: Exception) -> Response:
    if request.method in ("GET", "HEAD"):
        from urllib.parse import quote

        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(here)}", status_code=303)
    return message(
        request,
        status=403,
        title="session_over_title",
        paragraphs=[texts_for(request)("session_over_body")],
        link={"href": f"{PREFIX}/login", "text": "sign_in_again"},
    )


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, BoardRefusal)
    try:
        user = await run_in_threadpool(signed_in, request)
    except NotSignedIn:
        user = None
    return refusal_page(request, error, user)
