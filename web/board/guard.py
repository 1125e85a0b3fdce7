"""The board's gatekeepers, as FastAPI dependencies. A route declares what it needs and gets it
checked before its body runs:

- every POST: a live session and its CSRF token (``csrf_protect``, on the whole router);
- ``user: SignedIn``: the person, a ``BoardUser`` (else: to the sign-in page; 403 on a POST);
- ``access: AllowedProgramme``: the path's ``{programme}``, if ``may_see`` says so (403/404);
- ``reference: AllowedPlacement``: the path's ``{reference}``, inside that programme (or 404);
- ``who: ActingAs``: who acts, for the history (``actor=who.actor, via=who.via``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from states.access import (
    BoardUser,
    ProgrammeAccess,
    is_admin,
    may_see,
    programme_access,
    programme_of_placement,
)
from states.errors import NotFound
from web.board.context import board_of
from web.board.sessions import COOKIE, LiveSession

VIA = "board"


class SignInFailed(Exception):
    """The provider's answer is not a sign-in we accept; ``reason`` goes to the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The identity provider cannot be reached: try again later."""


class NotSignedIn(Exception):
    """No live signed-in session: a GET goes to the sign-in page, a POST is refused."""


@dataclass
class BoardRefusal(Exception):
    """A refusal the board explains on a page of its own: status, title and body keys."""

    status: int
    title: str
    body: str
    values: Mapping[str, Any] = field(default_factory=dict)


def not_found() -> BoardRefusal:
    return BoardRefusal(404, "not_found_title", "not_found_body")


def current_session(request: Request) -> LiveSession | None:
    """The request's live session (anonymous or signed in), read once per request."""
    if not hasattr(request.state, "board_session"):
        board = board_of(request)
        secret = board.signer.secret_of(request.cookies.get(COOKIE))
        request.state.board_session = board.store.load(secret)
    session: LiveSession | None = request.state.board_session
    return session


def signed_in(request: Request) -> BoardUser:
    session = current_session(request)
    if session is None or session.email is None:
        raise NotSignedIn()
    board = board_of(request)
    return BoardUser(
        email=session.email,
        name=session.name,
        groups=frozenset(session.groups),
        admin=is_admin(email=session.email, groups=session.groups, admins=board.config.admins),
    )


async def csrf_protect(request: Request) -> None:
    """Every POST to the board: a live session and the form's token for it, or nothing runs."""
    if request.method != "POST":
        return
    session = await run_in_threadpool(current_session, request)
    if session is None:
        raise NotSignedIn()
    try:
        form = await request.form()
    except Exception:  # a malformed body: refused like a missing token
        form = None
    token = form.get("csrf") if form is not None else None
    if not board_of(request).signer.csrf_ok(session.secret, token):
        raise BoardRefusal(403, "csrf_title", "csrf_body")


def _forbidden(user: BoardUser, access: ProgrammeAccess) -> BoardRefusal:
    return BoardRefusal(
        403,
        "forbidden_title",
        "forbidden_programme",
        {
            "email": user.email,
            "name": access.name,
            "coordinator": access.coordinator_name,
            "coordinator_email": access.coordinator_email,
        },
    )


SignedIn = Annotated[BoardUser, Depends(signed_in)]


def allowed_programme(request: Request, programme: str, user: SignedIn) -> ProgrammeAccess:
    """The programme named in the path, if this person may see it."""
    board = board_of(request)
    try:
        access = programme_access(board.app.reading(), key=programme)
    except NotFound:
        raise not_found() from None
    if not may_see(user, access):
        raise _forbidden(user, access)
    return access


AllowedProgramme = Annotated[ProgrammeAccess, Depends(allowed_programme)]


def allowed_placement(request: Request, reference: str, access: AllowedProgramme) -> str:
    """The placement named in the path, if it belongs to the path's (allowed) programme."""
    try:
        key = programme_of_placement(board_of(request).app.reading(), reference=reference)
    except NotFound:
        raise not_found() from None
    if key != access.key:
        raise not_found()
    return reference


@dataclass(frozen=True)
class Acting:
    """Who acts on the board, as the history records it."""

    user: BoardUser
    via: str = VIA

    @property
    def actor(self) -> str:
        return self.user.email


AllowedPlacement = Annotated[str, Depends(allowed_placement)]


def acting(user: SignedIn) -> Acting:
    return Acting(user)


ActingAs = Annotated[Acting, Depends(acting)]
