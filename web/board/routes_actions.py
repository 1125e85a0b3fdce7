"""The board's actions on one placement, each a POST through the service that already does it
(the CSRF check is the router's), each recording the signed-in person and ``via="board"``,
each confirmed in words on a page of its own; a refusal changes nothing and says why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.requests import Request

from notifications.queue import requeue_dead
from states.errors import InvalidInput, MobilityError, NotFound
from states.lifecycle.amendments import TermsChange, amend_terms
from states.lifecycle.transitions import apply_event
from states.links.remind import remind_now
from states.links.resend import resend_links
from web.board.context import board_of
from web.board.guard import Acting, ActingAs, AllowedPlacement, BoardRefusal, not_found
from web.board.rendering import BoardTexts, language_of, message, texts_for

router = APIRouter()

PLACEMENT = "/programmes/{programme}/placements/{reference}"


@contextmanager
def refused_in_words(request: Request) -> Iterator[None]:
    """A service's refusal as the board's page, in the reader's language: 400 for input, 404
    for what is not there, 409 for what the placement's state does not allow. Nothing was
    written (the service's unit of work rolled back)."""
    try:
        yield
    except InvalidInput as error:
        reason = "; ".join(str(e) for e in error.errors) if error.errors else str(error)
        raise BoardRefusal(400, "invalid_title", "invalid_body", {"reason": reason}) from None
    except NotFound:
        raise not_found() from None
    except MobilityError as error:
        reason = error.in_language(language_of(request))
        raise BoardRefusal(409, "refused_title", "refused_body", {"reason": reason}) from None


def done(request: Request, who: Acting, title: str, body: Callable[[BoardTexts], str]) -> Response:
    """The confirmation: what was done, in words, and the way back to the placement."""
    back = request.url.path.split("/placements/", 1)
    reference = back[1].split("/", 1)[0]
    return message(
        request,
        status=200,
        title=title,
        paragraphs=[body(texts_for(request))],
        user=who.user,
        link={"href": f"{back[0]}/placements/{reference}", "text": "back_to_placement"},
    )


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post(f"{PLACEMENT}/submit")
def submit_draft(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """Send a draft proposal on to approval, as the signed-in coordinator."""
    board = board_of(request)
    with refused_in_words(request):
        apply_event(
            board.app.uow(),
            reference=reference,
            event="submit",
            actor=who.actor,
            via=who.via,
            as_of=board.clock(),
        )
    return done(request, who, "submitted_title", lambda t: t("submitted_body", reference=reference))


def _told(request: Request, who: Acting, reference: str, key: str, people: Any) -> Response:
    """The confirmation of an email to people (``people``: what the service says it sent)."""
    names = ", ".join(dict.fromkeys(p.person_name for p in people))
    return done(
        request, who, f"{key}_title", lambda t: t(f"{key}_body", reference=reference, names=names)
    )


@router.post(f"{PLACEMENT}/remind")
def remind(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """A reminder now to whoever still has to act; their links stay as they are."""
    board = board_of(request)
    with refused_in_words(request):
        reminded = remind_now(
            board.app.uow(), reference=reference, actor=who.actor, via=who.via, now=board.clock()
        )
    return _told(request, who, reference, "reminded", reminded)


@router.post(f"{PLACEMENT}/resend")
def resend(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """Fresh links to whoever still has to act; their earlier links die."""
    board = board_of(request)
    with refused_in_words(request):
        resent = resend_links(
            board.app.uow(), reference=reference, actor=who.actor, now=board.clock()
        )
    return _told(request, who, reference, "resent", resent)


async def _end(request: Request, reference: str, who: Acting, event: str) -> Response:
    board = board_of(request)
    reason = (await form_of(request)).get("reason", "").strip()
    if not reason:
        raise BoardRefusal(
            400, "invalid_title", "invalid_body", {"reason": texts_for(request)("reason_hint")}
        )
    with refused_in_words(request):
        result = apply_event(
            board.app.uow(),
            reference=reference,
            event=event,
            actor=who.actor,
            via=who.via,
            comment=reason,
            as_of=board.clock(),
        )
    return done(
        request,
        who,
        "ended_title",
        lambda t: t("ended_body", reference=reference, state=t.words.state(result.to_state)),
    )


@router.post(f"{PLACEMENT}/withdraw")
async def withdraw(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """Withdraw before the start, with a reason the people involved are told."""
    return await _end(request, reference, who, "withdraw")


@router.post(f"{PLACEMENT}/cancel")
async def cancel(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """Cancel a placement that has started, with a reason."""
    return await _end(request, reference, who, "cancel")


@router.post(f"{PLACEMENT}/amend")
async def amend(request: Request, reference: AllowedPlacement, who: ActingAs) -> Response:
    """Change the terms: a revision in a proposal, a new agreement version in ``agreement``."""
    board = board_of(request)
    fields = {k: v.strip() for k, v in (await form_of(request)).items() if k != "csrf"}
    try:
        changes = TermsChange.model_validate({k: v for k, v in fields.items() if v})
    except ValidationError as error:
        reason = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in error.errors()
        )
        raise BoardRefusal(400, "invalid_title", "invalid_body", {"reason": reason}) from None
    with refused_in_words(request):
        result = amend_terms(
            board.app.uow(),
            reference=reference,
            changes=changes,
            actor=who.actor,
            via=who.via,
            as_of=board.clock(),
        )
    changed = ", ".join(f"{k}: {v}" for k, v in changes.model_dump(exclude_none=True).items())
    changed += f" (version {result.version})"
    return done(
        request,
        who,
        "amended_title",
        lambda t: t("amended_body", reference=reference, changes=changed),
    )


@router.post(f"{PLACEMENT}/outbox/{{outbox_id}}/retry")
def retry(request: Request, reference: AllowedPlacement, outbox_id: str, who: ActingAs) -> Response:
    """Put a dead email about this placement back in the queue."""
    board = board_of(request)
    if not outbox_id.isdigit():
        raise not_found()
    with refused_in_words(request):
        requeued = requeue_dead(
            board.app.uow(), outbox_id=int(outbox_id), now=board.clock(), reference=reference
        )
    return done(
        request,
        who,
        "requeued_title",
        lambda t: t("requeued_body", id=requeued.id, to=requeued.to_email),
    )
