"""Intake: proposals for a programme from a file (CSV, .xlsx or YAML), previewed row by row
before one button registers the whole file, all or nothing.

The file is read and validated as ``mobility propose`` reads it (``states.intake``); the board
adds only that every row must be of the programme it was uploaded to (``for_programme``). The
preview writes no placement, person or history row: only the file is kept
(``web.board.uploads``), for the button that registers it.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from reporting.texts import ReportTexts
from states.access import ProgrammeAccess
from states.bootstrap import App
from states.errors import InvalidInput
from states.intake.preview import Preview, for_programme, preview_proposals
from states.intake.registration import register_proposal_batches
from web.board.context import board_of
from web.board.guard import ActingAs, AllowedProgramme, BoardRefusal, SignedIn, current_session
from web.board.rendering import language_of, message, render, texts_for
from web.board.uploads import (
    UPLOAD_LIMIT,
    Upload,
    UploadStore,
    proposal_file,
    shown_name,
    suffix_of,
)

router = APIRouter()

INTAKE = "/programmes/{programme}/intake"
INTAKE_PATH = r"/board/programmes/[^/]+/intake"
"""The upload's path, for the body limit of the whole app (``web.middleware.WiderLimit``)."""


def _store(request: Request) -> UploadStore:
    board = board_of(request)
    return UploadStore(board.app, board.clock)


def _secret(request: Request) -> str:
    session = current_session(request)
    assert session is not None  # the router's CSRF check let the POST in
    return session.secret


@router.get(INTAKE)
def intake_page(request: Request, access: AllowedProgramme, user: SignedIn) -> Response:
    return render(request, "board/intake.html", user=user, programme=access)


def too_large(scope: MutableMapping[str, Any]) -> Response:
    """The 413 page of an upload over the limit (the body limit answers with it)."""
    request = Request(scope)
    back = request.url.path
    return message(
        request,
        status=413,
        title="upload_too_large_title",
        paragraphs=[texts_for(request)("upload_too_large_body")],
        link={"href": back, "text": "upload_again"},
    )


async def _uploaded(request: Request) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, or a refusal that says what is wrong."""
    form = await request.form()  # parsed once already, by the router's CSRF check
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise BoardRefusal(400, "intake_no_file_title", "intake_no_file_body")
    name = shown_name(file.filename)
    if suffix_of(name) is None:
        raise BoardRefusal(400, "intake_kind_title", "intake_kind_body", {"name": name})
    content = await file.read(UPLOAD_LIMIT + 1)
    if len(content) > UPLOAD_LIMIT:
        raise BoardRefusal(413, "upload_too_large_title", "upload_too_large_body")
    if not content:
        raise BoardRefusal(400, "intake_no_file_title", "intake_no_file_body")
    return name, content


def _preview(app: App, upload: Upload, key: str) -> Preview | InvalidInput:
    """What registering the file would do, or why the file as a whole cannot be read."""
    try:
        with proposal_file(upload) as proposals:
            return preview_proposals(app.reading(), batches=for_programme(proposals.batches(), key))
    except InvalidInput as error:
        return error


@router.post(INTAKE)
async def upload_file(request: Request, access: AllowedProgramme, user: SignedIn) -> Response:
    """Keep the file and show every row as it would be registered; register nothing."""
    name, content = await _uploaded(request)
    upload = await run_in_threadpool(
        lambda: _store(request).keep(
            secret=_secret(request), programme=access.key, filename=name, content=content
        )
    )
    result = await run_in_threadpool(_preview, board_of(request).app, upload, access.key)
    return _preview_page(request, access, user, upload, result)


def _preview_page(
    request: Request,
    access: ProgrammeAccess,
    user: Any,
    upload: Upload,
    result: Preview | InvalidInput,
    *,
    status: int = 200,
    title: str = "preview_title",
) -> Response:
    preview = result if isinstance(result, Preview) else None
    file_errors = list(result.errors) if isinstance(result, InvalidInput) else []
    if preview is not None:
        file_errors = list(preview.file_errors)
    return render(
        request,
        "board/intake_preview.html",
        status=status,
        user=user,
        programme=access,
        upload=upload,
        preview=preview,
        file_errors=file_errors,
        title=title,
        registrable=preview is not None and not preview.invalid,
        rt=ReportTexts(language_of(request)),  # the glossary's words for the column headers
    )


@router.post(INTAKE + "/register")
def register_file(
    request: Request,
    access: AllowedProgramme,
    who: ActingAs,
    upload: str = Form(""),
    draft: str = Form(""),
) -> Response:
    """Register every row of the kept file, or none (then every error is shown again)."""
    board = board_of(request)
    store = _store(request)
    found = store.find(secret=_secret(request), programme=access.key, token=upload)
    if found is None:
        raise BoardRefusal(410, "upload_gone_title", "upload_gone_body")
    try:
        with proposal_file(found) as proposals:
            registered = register_proposal_batches(
                board.app.uow(),
                batches=for_programme(proposals.batches(), access.key),
                actor=who.actor,
                via=who.via,
                draft=bool(draft),
                as_of=board.clock(),
                source=found.filename,
            )
    except InvalidInput:  # the file or the programme changed since the preview
        result = _preview(board.app, found, access.key)
        status, title = 409, "register_failed_title"
        return _preview_page(request, access, who.user, found, result, status=status, title=title)
    store.forget(found.token)
    return render(
        request,
        "board/intake_done.html",
        user=who.user,
        programme=access,
        registered=registered,
        created=sum(1 for r in registered if r.created),
        rt=ReportTexts(language_of(request)),
    )
