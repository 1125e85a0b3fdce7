"""One placement on the board: its facts, who is to act, its history, approvals and agreement,
every email about it (the outbox) and the evaluation and check-in answers. Read only; the
actions it offers are ``web.board.routes_actions``'s."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from notifications.queue import list_outbox
from states.followup.answers import placement_answers
from states.lifecycle.amendments import EVENT_FOR_STATE
from states.lifecycle.machine import events_from
from states.lifecycle.queries import get_placement, list_placements
from states.lifecycle.steps import BY_STATE
from web.answers import answer_text
from web.board.context import board_of
from web.board.guard import AllowedPlacement, SignedIn
from web.board.rendering import language_of, render, texts_for
from web.board.texts import BOARD_TEXTS

router = APIRouter()

# The board's words for who acted through what (``HistoryEntry.via``); others shown as stored.
VIA_KEYS = frozenset(key for key in BOARD_TEXTS if key.startswith("via_"))

# The events that end a placement early, each with a reason (the machine says which apply).
ENDING_EVENTS = ("withdraw", "cancel")


@router.get("/programmes/{programme}/placements/{reference}")
def placement_page(request: Request, reference: AllowedPlacement, user: SignedIn) -> Response:
    board = board_of(request)
    reading = board.app.reading
    detail = get_placement(reading(), reference=reference)
    [summary] = list_placements(reading(), as_of=board.clock(), reference=reference)
    step = BY_STATE.get(detail.state)
    events = events_from(detail.state)
    t = texts_for(request)
    return render(
        request,
        "board/placement.html",
        user=user,
        p=detail,
        summary=summary,
        emails=list_outbox(reading(), reference=reference),
        answers=placement_answers(reading(), reference=reference, language=language_of(request)),
        answer_text=lambda q, answer: answer_text(q, answer, t),  # type: ignore[arg-type]
        can_remind=bool(summary.holders) and step is not None and step.reminder is not None,
        can_resend=bool(summary.holders) and step is not None,
        can_submit="submit" in events,
        can_amend=detail.state in EVENT_FOR_STATE,
        endings=[event for event in ENDING_EVENTS if event in events],
        via_keys=VIA_KEYS,
    )
