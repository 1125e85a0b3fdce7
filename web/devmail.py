"""``/dev/mail``: the mail the local catcher kept, newest first, links clickable. Development
only: the routes exist when the app is built with ``dev_mail=True`` (no SMTP host set)."""

from __future__ import annotations

import jinja2
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from states.bootstrap import App


def add_dev_mail(web: FastAPI, *, app: App, env: jinja2.Environment) -> None:
    from notifications.mailbox import list_mail, read_mail

    mail_dir = app.settings.mail_dir

    @web.get("/dev/mail", include_in_schema=False)
    def mail_list() -> Response:
        html = env.get_template("dev_mail.html").render(mails=list_mail(mail_dir, limit=500))
        return HTMLResponse(html)

    @web.get("/dev/mail/{name}", include_in_schema=False)
    def mail_one(name: str) -> Response:
        # Only names the catcher writes; never a path the request could steer elsewhere.
        path = mail_dir / name
        if "/" in name or "\\" in name or not name.endswith(".eml") or not path.is_file():
            return HTMLResponse(
                env.get_template("dev_mail.html").render(mails=[], missing=True), status_code=404
            )
        html = env.get_template("dev_mail_message.html").render(mail=read_mail(path))
        return HTMLResponse(html)
