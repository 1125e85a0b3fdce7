"""The programmes a person may see, one programme, and the first action (submit a draft).

Part 2 of issue 12 builds its pages and actions the same way: a path under
``/board/programmes/{programme}``, a parameter typed ``AllowedProgramme`` or
``AllowedPlacement`` for access, ``ActingAs`` for the history's actor and via, ``render`` for
the page. The CSRF check of every POST is the router's (``web.board.guard``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from states.access import visible_programmes
from states.errors import TransitionRefused
from states.lifecycle.queries import list_programmes
from states.lifecycle.transitions import apply_event
from web.board.context import board_of
from web.board.guard import ActingAs, AllowedPlacement, AllowedProgramme, BoardRefusal, SignedIn
from web.board.rendering import message, render, texts_for

router = APIRouter()


@router.get("/")
def programmes(request: Request, user: SignedIn) -> Response:
    board = board_of(request)
    shown = visible_programmes(board.app.reading(), user)
    if not shown and not user.admin:
        raise BoardRefusal(403, "forbidden_title", "forbidden_none", {"email": user.email})
    return render(request, "board/programmes.html", user=user, programmes=shown)


@router.get("/programmes/{programme}")
def programme_page(request: Request, access: AllowedProgramme, user: SignedIn) -> Response:
    board = board_of(request)
    found = [p for p in list_programmes(board.app.reading()) if p.key == access.key]
    return render(request, "board/programme.html", user=user, programme=found[0])


@router.post("/programmes/{programme}/placements/{reference}/submit")
def submit_draft(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """Send a draft proposal on to approval, as the signed-in coordinator."""
    board = board_of(request)
    try:
        apply_event(
            board.app.uow(),
            reference=reference,
            event="submit",
            actor=who.actor,
            via=who.via,
            as_of=board.clock(),
        )
    except TransitionRefused as error:
        raise BoardRefusal(409, "refused_title", "refused_body", {"reason": str(error)}) from None
    return message(
        request,
        status=200,
        title="submitted_title",
        paragraphs=[texts_for(request)("submitted_body", reference=reference)],
        user=who.user,
        link={"href": request.url.path.rsplit("/placements/", 1)[0], "text": "back_to_programme"},
    )
