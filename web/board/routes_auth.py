"""Signing in and out, and the language choice.

With OpenID Connect: ``/board/login`` → ``/board/auth/start`` (a link: the redirect to the
provider) → the provider → ``/board/auth/callback`` → a new session. Without it: a
development sign-in at ``/board/login/dev``, for requests from this machine only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from states.access import all_programme_access
from web.board.config import is_loopback
from web.board.context import Board, board_of, safe_next
from web.board.guard import ProviderUnavailable, SignInFailed, current_session, not_found
from web.board.rendering import message, render, texts_for
from web.board.sessions import LiveSession
from web.board.texts import LANGUAGES

logger = logging.getLogger("web.board")

router = APIRouter()


def _anonymous_session(request: Request) -> tuple[LiveSession, bool]:
    """The request's live session, or a new anonymous one (True: set its cookie)."""
    session = current_session(request)
    if session is not None:
        return session, False
    session = board_of(request).store.start()
    request.state.board_session = session
    return session, True


def dev_choices(board: Board) -> list[tuple[str, str]]:
    """Whom the development sign-in offers: the named coordinator, else every coordinator."""
    if board.config.dev_coordinator:
        email = board.config.dev_coordinator.strip().lower()
        return [(email, email)]
    people: dict[str, str] = {}
    for access in all_programme_access(board.app.reading()):
        people.setdefault(access.coordinator_email, access.coordinator_name)
        for email in sorted(access.emails):
            people.setdefault(email, email)
    for admin in sorted(a for a in board.config.admins if "@" in a):
        people.setdefault(admin, admin)
    return sorted(people.items())


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    board = board_of(request)
    target = safe_next(next)
    session, new = _anonymous_session(request)
    if session.signed_in:
        return RedirectResponse(target, status_code=303)
    response = render(
        request,
        "board/login.html",
        oidc=board.oidc is not None,
        choices=dev_choices(board) if board.oidc is None else [],
        next=target,
    )
    if new:
        board.set_session_cookie(response, session.secret)
    return response


def _sign_in_problem(request: Request, status: int, title: str, body: str) -> Response:
    return message(
        request,
        status=status,
        title=title,
        paragraphs=[texts_for(request)(body)],
        link={"href": "/board/login", "text": "try_again"},
    )


def _unavailable(request: Request) -> Response:
    return _sign_in_problem(request, 503, "sign_in_unavailable_title", "sign_in_unavailable_body")


def _failed(request: Request) -> Response:
    return _sign_in_problem(request, 403, "sign_in_failed_title", "sign_in_failed_body")


@router.get("/auth/start")
async def start_sign_in(request: Request, next: str | None = None) -> Response:
    board = board_of(request)
    if board.oidc is None:
        raise not_found()
    session, new = await run_in_threadpool(_anonymous_session, request)
    state = {"next": safe_next(next)}
    try:
        response: Response = await board.oidc.redirect(request, state)
    except ProviderUnavailable as error:
        logger.error("sign-in could not start: %s", error)
        return _unavailable(request)
    except SignInFailed as error:  # the provider is not the one configured
        logger.error("sign-in could not start: %s", error.reason)
        return _failed(request)
    await run_in_threadpool(board.store.keep_sign_in_state, session.secret, state)
    if new:
        board.set_session_cookie(response, session.secret)
    return response


@router.get("/auth/callback")
async def finish_sign_in(request: Request) -> Response:
    board = board_of(request)
    if board.oidc is None:
        raise not_found()
    session = await run_in_threadpool(current_session, request)
    if session is None or session.signed_in or not session.sign_in:
        logger.warning("sign-in refused: no sign-in under way in this browser")
        return _failed(request)
    state = dict(session.sign_in)
    # The state is used once, whatever comes of it.
    await run_in_threadpool(board.store.keep_sign_in_state, session.secret, {})
    try:
        identity = await board.oidc.complete(request, state)
    except SignInFailed as error:
        logger.warning("sign-in refused: %s", error.reason)
        return _failed(request)
    except ProviderUnavailable as error:
        logger.error("sign-in could not finish: %s", error)
        return _unavailable(request)
    fresh = await run_in_threadpool(
        lambda: board.store.sign_in(
            session.secret,
            email=identity.email,
            name=identity.name,
            groups=identity.groups,
            method="oidc",
            id_token=identity.id_token,
        )
    )
    logger.info("board sign-in: %s (%d groups)", identity.email, len(identity.groups))
    response = RedirectResponse(safe_next(state.get("next")), status_code=303)
    board.set_session_cookie(response, fresh.secret)
    return response


@router.post("/login/dev")
def dev_sign_in(request: Request, email: str = Form(""), next: str = Form("/board/")) -> Response:
    board = board_of(request)
    if board.oidc is not None:
        raise not_found()
    client = request.client.host if request.client else ""
    if not is_loopback(client):
        return message(
            request,
            status=403,
            title="sign_in_failed_title",
            paragraphs=[texts_for(request)("dev_sign_in_only_here")],
        )
    people = dict(dev_choices(board))
    chosen = email.strip().lower()
    if chosen not in people:
        return _failed(request)
    session = current_session(request)
    fresh = board.store.sign_in(
        session.secret if session else None,
        email=chosen,
        name=people[chosen],
        groups=[],
        method="dev",
    )
    logger.info("board development sign-in: %s", chosen)
    response = RedirectResponse(safe_next(next), status_code=303)
    board.set_session_cookie(response, fresh.secret)
    return response


@router.post("/logout")
async def sign_out(request: Request) -> Response:
    """End the session here, then at the provider if it has an end-session endpoint. That
    last step is a page that moves on by itself (meta refresh, with a link): a redirect
    answering the form would break the pages' CSP, form-action 'self'."""
    board = board_of(request)
    session = await run_in_threadpool(current_session, request)
    provider_url = None
    if session is not None:
        await run_in_threadpool(board.store.end, session.secret)
        if board.oidc is not None and session.method == "oidc":
            provider_url = await board.oidc.logout_url(session.id_token)
        logger.info("board sign-out: %s", session.email or "(not signed in)")
    request.state.board_session = None  # the page after this has no session, no forms
    response: Response
    if provider_url is None:
        response = RedirectResponse("/board/signed-out", status_code=303)
    else:
        response = render(request, "board/leaving.html", provider_url=provider_url)
    board.clear_session_cookie(response)
    return response


@router.get("/signed-out")
def signed_out(request: Request) -> Response:
    return message(
        request,
        status=200,
        title="signed_out_title",
        paragraphs=[texts_for(request)("signed_out_body")],
        link={"href": "/board/login", "text": "sign_in_again"},
    )


@router.post("/language")
def choose_language(
    request: Request, language: str = Form(""), next: str = Form("/board/")
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in LANGUAGES:
        board_of(request).set_language_cookie(response, language)
    return response
