"""Board pages: the app's own Jinja2 templates (web/templates/board/), in the person's
language, with what every page needs (the person, the CSRF token of their session, the
development banner)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any

from babel.numbers import format_decimal
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from reporting.texts import VALUES
from states.access import BoardUser
from states.dates import amount_sek, long_date
from states.glossary import words
from web.board.context import LANGUAGE_COOKIE, board_of
from web.board.guard import BoardRefusal
from web.board.sessions import LiveSession
from web.board.texts import pick_language, text

DIRECTIONS = VALUES["direction"]  # the report's names for the directions


@lru_cache(maxsize=4096)
def _long_date(day: date, language: str) -> str:
    """Babel's long date, remembered: a list of 2,000 placements has a few hundred days."""
    return long_date(day, language)


class BoardTexts:
    """``t("key", name=...)`` in one language, for the templates; ``t.words`` is the
    glossary of that language (states, roles, events), dates and amounts by Babel."""

    def __init__(self, language: str, zone: tzinfo = UTC) -> None:
        self.language = language
        self.words = words(language)
        self.zone = zone

    def __call__(self, key: str, **values: object) -> str:
        return text(key, self.language, **values)

    def date(self, day: date | None) -> str:
        return _long_date(day, self.language) if day is not None else ""

    def moment(self, at: datetime | None) -> str:
        """A moment in the programme's time zone: "2 mars 2027 09:15"."""
        if at is None:
            return ""
        local = at.astimezone(self.zone)
        return f"{long_date(local.date(), self.language)} {local:%H:%M}"

    def number(self, value: int) -> str:
        """A count as the language writes it: "2 000", "2,000"."""
        return format_decimal(value, locale=self.language)

    def amount(self, value: int) -> str:
        return amount_sek(value, self.language)

    def direction(self, key: str) -> str:
        return DIRECTIONS.get(key, {}).get(self.language, key)


def language_of(request: Request) -> str:
    return pick_language(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def texts_for(request: Request) -> BoardTexts:
    return BoardTexts(language_of(request), board_of(request).app.config.timezone)


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    user: BoardUser | None = None,
    **context: Any,
) -> HTMLResponse:
    """A board page. The CSRF token is that of the session this request already loaded."""
    board = board_of(request)
    language = language_of(request)
    session: LiveSession | None = getattr(request.state, "board_session", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = board.env.get_template(template).render(
        t=BoardTexts(language, board.app.config.timezone),
        language=language,
        user=user,
        csrf=board.signer.csrf(session.secret) if session is not None else None,
        dev_sign_in=board.config.dev_sign_in,
        here=here,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def message(
    request: Request,
    *,
    status: int,
    title: str,
    paragraphs: Sequence[str],
    user: BoardUser | None = None,
    link: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "board/message.html",
        status=status,
        user=user,
        title=title,
        paragraphs=list(paragraphs),
        link=link,
    )


def refusal_page(request: Request, refusal: BoardRefusal, user: BoardUser | None) -> HTMLResponse:
    t = texts_for(request)
    paragraphs = [t(refusal.body, **refusal.values)]
    admins = sorted(a for a in board_of(request).config.admins if "@" in a)
    if refusal.status == 403 and refusal.title == "forbidden_title" and admins:
        paragraphs.append(t("forbidden_admins", admins=", ".join(admins)))
    link = {"href": "/board/", "text": "back_to_programmes"} if user else None
    return message(
        request,
        status=refusal.status,
        title=refusal.title,
        paragraphs=paragraphs,
        user=user,
        link=link,
    )
