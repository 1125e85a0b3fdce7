"""The pages behind the emailed links. GET and HEAD only read; a POST from a button decides.

Thin: every decision goes through ``states.links.pages``; this module picks templates and headers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from states.bootstrap import App
from states.errors import AgreementTemplateError, NotFound
from states.lifecycle.steps import BY_PURPOSE, Form
from states.links.pages import LinkOutcome, LinkView, act_on_link, open_link
from states.unit_of_work import read_once_more_if_dropped
from web.answers import answer_text, choices
from web.board import add_board, board_body_limits
from web.logs import install_redaction
from web.middleware import BodyLimit, SecurityHeaders
from web.texts import Texts

HERE = Path(__file__).parent
MAX_BODY_BYTES = 64 * 1024

logger = logging.getLogger("web")

# The page of each kind of step form (states.lifecycle.steps: Step.form).
PAGES: dict[Form, str] = {
    "decision": "approval.html",
    "agreement": "agreement.html",
    "answers": "evaluation.html",
}

# LinkStatus (reason, detail) → the sentence on the 410 page; detail None matches any detail.
GONE_TEXTS: dict[tuple[str, str | None], str] = {
    ("decided_by_you", "approved"): "gone_approved",
    ("decided_by_you", "declined"): "gone_declined",
    ("decided_by_you", "changes_requested"): "gone_changes_requested",
    ("decided_by_you", "accepted"): "gone_accepted",
    ("decided_by_you", "answered"): "gone_answered",
    ("used", None): "gone_used",
    ("decided_by_others", None): "gone_decided_by_others",
    ("agreement_changed", None): "gone_agreement_changed",
    ("expired", None): "gone_expired",
    ("revoked", "resent"): "gone_revoked",
    ("revoked", None): "gone_step_over",
    ("step_over", None): "gone_step_over",
    ("withdrawn", None): "gone_withdrawn",
    ("declined", None): "gone_declined_placement",
    ("cancelled", None): "gone_cancelled",
    ("completed", None): "gone_completed",
}

# (decision, state the placement is in afterwards) → what happens next; state None: any.
NEXT_TEXTS: dict[tuple[str, str | None], str] = {
    ("approve", "agreement"): "next_approve_agreement",
    ("approve", None): "next_approve_waiting",
    ("decline", None): "next_decline",
    ("request_changes", None): "next_request_changes",
    ("accept", "placement"): "next_accept_placement",
    ("accept", None): "next_accept_waiting",
    ("answer", None): "next_answer",
}


def _lookup(table: dict[tuple[str, str | None], str], key: str, detail: str | None) -> str:
    return table.get((key, detail)) or table.get((key, None)) or "gone_step_over"


# --- rendering --------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Compiled once per process: no stat of the file on every page (a release replaces
        # the templates and restarts the server).
        auto_reload=False,
    )


class Pages:
    def __init__(self, app: App) -> None:
        self.app = app
        self.env = _environment()

    def texts(self, language: str) -> Texts:
        return Texts(language, self.app.config.timezone)

    def render(self, name: str, *, status: int, language: str, **context: Any) -> HTMLResponse:
        t = self.texts(language)
        defaults: dict[str, Any] = {
            "field_errors": {},
            "form": {},
            "form_comment": "",
            "errors": (),
            "contact": None,
            "key_facts_above": False,
        }
        html = self.env.get_template(name).render(
            {**defaults, **context},
            t=t,
            choices=partial(choices, t=t),
            answer_text=partial(answer_text, t=t),
        )
        return HTMLResponse(html, status_code=status)

    def error(self, status: int, title_key: str, body_key: str) -> HTMLResponse:
        """Pages for people we do not know (no token, no language): both languages."""
        html = self.env.get_template("error.html").render(
            sv=self.texts("sv"),
            en=self.texts("en"),
            title_key=title_key,
            body_key=body_key,
        )
        return HTMLResponse(html, status_code=status)

    def front(self) -> HTMLResponse:
        """What the service is, for whoever comes to its address (a calendar event links it)."""
        return self.error(200, "front_title", "front_body")

    def not_found(self) -> HTMLResponse:
        return self.error(404, "not_found_title", "not_found_body")

    def server_error(self) -> HTMLResponse:
        return self.error(500, "server_error_title", "server_error_body")

    def too_large(self) -> HTMLResponse:
        return self.error(413, "too_large_title", "too_large_body")

    @staticmethod
    def contact(view: LinkView) -> dict[str, str]:
        return {"name": view.placement.coordinator_name, "email": view.placement.coordinator_email}

    def step(self, view: LinkView, *, status: int = 200, **context: Any) -> HTMLResponse:
        if not view.status.live:
            return self.gone(view)
        extra: dict[str, Any] = {}
        if view.agreement is not None:
            # Our own rendering, autoescaped when the agreement was made
            # (states.documents.agreement).
            extra["agreement_html"] = Markup(view.agreement.html)
        return self.render(
            PAGES[BY_PURPOSE[view.purpose].form],
            status=status,
            language=view.language,
            view=view,
            contact=self.contact(view),
            **extra,
            **context,
        )

    def gone(self, view: LinkView) -> HTMLResponse:
        t = self.texts(view.language)
        status = view.status
        key = _lookup(GONE_TEXTS, status.reason or "step_over", status.detail)
        what = t(key, date=t.date(status.at), state=t.state(view.placement.state))
        return self.render(
            "gone.html",
            status=410,
            language=view.language,
            view=view,
            what_happened=what,
            contact=self.contact(view),
        )

    def outcome(self, outcome: LinkOutcome, form: dict[str, list[str]]) -> HTMLResponse:
        view = outcome.view
        if outcome.kind == "gone":
            return self.gone(view)
        if outcome.kind == "invalid":
            field_errors: dict[str, str] = {}
            for error in outcome.errors:
                field_errors.setdefault(error.field, error.message)
            return self.step(
                view,
                status=400,
                errors=outcome.errors,
                field_errors=field_errors,
                form=form,
                form_comment=(form.get("comment") or [""])[0],
            )
        next_key = _lookup(NEXT_TEXTS, outcome.decision or "answer", outcome.to_state)
        return self.render(
            "done.html",
            status=200,
            language=view.language,
            outcome=outcome,
            next_key=next_key,
            contact=self.contact(view),
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _add_error_pages(web: FastAPI, pages: Pages) -> None:
    """Every error is a page in both languages, never a traceback or JSON."""

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return pages.not_found()
        if error.status_code == 413:
            return pages.too_large()
        if error.status_code == 405:
            response = pages.error(405, "bad_request_title", "bad_request_body")
            response.headers["Allow"] = error.headers.get("Allow", "") if error.headers else ""
            return response
        return pages.error(
            400 if error.status_code < 500 else 500, "bad_request_title", "bad_request_body"
        )

    @web.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return pages.error(400, "bad_request_title", "bad_request_body")


def _add_plain_pages(web: FastAPI, pages: Pages) -> None:
    """The front page (what the service is, for anyone) and the proxies' health check."""

    @web.get("/", include_in_schema=False)
    def front() -> HTMLResponse:
        return pages.front()

    @web.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")


def _add_link_routes(
    web: FastAPI,
    app: App,
    pages: Pages,
    *,
    clock: Callable[[], datetime],
) -> None:
    """The emailed link's page (GET shows, POST decides)."""

    # The GET runs on the event loop, not in the thread pool: two indexed reads on connections
    # that cannot write and never wait for a lock (``App.peeking``) and a render, about a
    # millisecond. Handed to a thread it queued behind the GIL with 40 others: under
    # 32 clients the loop served half as many GETs, with p99 of 130-460 ms against 35-180 ms.
    # The POST stays in a thread: its write may wait for SQLite's lock.
    @web.api_route("/l/{token}", methods=["GET", "HEAD"], include_in_schema=False)
    async def show_link(token: str) -> Response:
        try:
            view = read_once_more_if_dropped(
                lambda: open_link(app.peeking(), raw_token=token, now=clock())
            )
        except NotFound:
            return pages.not_found()
        return pages.step(view)

    @web.post("/l/{token}", include_in_schema=False)
    async def act(token: str, request: Request) -> Response:
        try:
            data = await request.form(max_files=0, max_fields=200)
        except Exception:  # a malformed body is the sender's problem, not a 500
            return pages.error(400, "bad_request_title", "bad_request_body")
        form = {key: [v for v in data.getlist(key) if isinstance(v, str)] for key in data}
        decision = next(iter(form.get("decision", [])), None)
        comment = next(iter(form.get("comment", [])), None)
        try:
            outcome = await run_in_threadpool(
                partial(
                    act_on_link,
                    app.uow(),
                    raw_token=token,
                    decision=decision,
                    comment=comment,
                    answers_form=form,
                    now=clock(),
                )
            )
        except NotFound:
            return pages.not_found()
        except AgreementTemplateError as error:  # the programme's fault, not the visitor's
            logger.error("no agreement could be written, nothing was saved: %s", error)
            return pages.server_error()
        logger.info("link %s (%s): %s", outcome.view.token_id, outcome.view.purpose, outcome.kind)
        return pages.outcome(outcome, form)


def create_app(
    app: App,
    *,
    dev_mail: bool,
    clock: Callable[[], datetime] = _now,
    publish_events: bool = False,
) -> FastAPI:
    """The web application over ``app``; ``dev_mail`` adds /dev/mail (development only).
    ``publish_events``: after every POST that succeeded, tell Prefect (history, and the event
    that makes the delivery run at once; ``web.publish``); the served app turns it on, tests
    without Prefect leave it off."""
    install_redaction()
    pages = Pages(app)
    web = FastAPI(title="Mobility Engine", docs_url=None, redoc_url=None, openapi_url=None)
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    _add_error_pages(web, pages)

    _add_plain_pages(web, pages)

    _add_link_routes(web, app, pages, clock=clock)

    if dev_mail:
        from web.devmail import add_dev_mail

        add_dev_mail(web, app=app, env=pages.env)
    add_board(web, app=app, env=pages.env, clock=clock)

    if publish_events:
        from web.publish import AfterCommitPublisher, PublishAfterPost

        web.add_middleware(PublishAfterPost, publisher=AfterCommitPublisher(app))
    # Added last = outermost: the headers wrap every response, the 413 included.
    web.add_middleware(
        BodyLimit, limit=MAX_BODY_BYTES, too_large=pages.too_large, wider=board_body_limits()
    )
    web.add_middleware(SecurityHeaders, server_error=pages.server_error)
    return web
