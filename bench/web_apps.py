"""ASGI factories for the link-page benchmark, built from the environment by each uvicorn worker."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

STATIC_PAGE = "<!doctype html><html lang=en><title>Static</title>" + "<p>static</p>" * 200


def links() -> FastAPI:
    """The real link pages over MOBILITY_DATABASE_URL."""
    from states.bootstrap import bootstrap
    from web.app import create_app

    return create_app(bootstrap(), dev_mail=False)


def static() -> FastAPI:
    """The floor of a GET: a bare FastAPI route returning a static page; and the floor of a
    POST: a bare route that reads the form and issues, in plain SQL on the DBAPI, the
    statements the link's POST issues (the token claimed, the approval, and on the last one the
    agreement), then answers the static page."""
    from bench.raw_approval import Dialect, approve, claim_token, in_transaction
    from models.db import get_engine

    app = FastAPI()
    engine = get_engine(os.environ["MOBILITY_DATABASE_URL"])
    dialect = Dialect(postgres=engine.dialect.name == "postgresql")

    def decide(raw_token: str) -> int:
        token_hash = hashlib.sha256(raw_token.encode("ascii")).hexdigest()

        def work(cursor: Any) -> bool:
            claimed = claim_token(cursor, dialect, token_hash)
            return claimed is not None and approve(cursor, dialect, *claimed)

        raw = engine.raw_connection()
        try:
            return 200 if in_transaction(raw, dialect, work) else 410
        finally:
            raw.close()

    @app.get("/static-page")
    def page() -> HTMLResponse:
        return HTMLResponse(STATIC_PAGE)

    @app.post("/l/{token}")
    async def act(token: str, request: Request) -> HTMLResponse:
        form = await request.form(max_files=0, max_fields=200)
        if form.get("decision") != "approve":
            return HTMLResponse(STATIC_PAGE, status_code=400)
        status = await run_in_threadpool(decide, token)
        return HTMLResponse(STATIC_PAGE, status_code=status)

    return app
