"""ASGI factories for the link-page benchmark, built from the environment by each uvicorn worker."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

STATIC_PAGE = "<!doctype html><html lang=en><title>Static</title>" + "<p>static</p>" * 200


def links() -> FastAPI:
    """The real link pages over MOBILITY_DATABASE_URL."""
    from states.bootstrap import bootstrap
    from web.app import create_app

    return create_app(bootstrap(), dev_mail=False)


def static() -> FastAPI:
    """The floor: a bare FastAPI route returning a static page."""
    app = FastAPI()

    @app.get("/static-page")
    def page() -> HTMLResponse:
        return HTMLResponse(STATIC_PAGE)

    return app
