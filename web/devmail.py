"""``/dev/mail``: the mail the local catcher kept, newest first, links clickable, and each
message's HTML as its recipient sees it. Development only: the routes exist when the app is
built with ``dev_mail=True`` (no SMTP host set)."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import jinja2
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from states.bootstrap import App
from web.middleware import content_security_policy


class _Styles(HTMLParser):
    """Every inline style of a document: its ``style`` attributes and ``<style>`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: set[str] = set()
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.update(value for name, value in attrs if name == "style" and value)
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.found.add(data)


def style_hashes(html: str) -> set[str]:
    """``sha256-…`` of each inline style in ``html``, as a CSP hash source names it."""
    parser = _Styles()
    parser.feed(html)
    return {
        "sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        for style in parser.found
    }


def framed(html: str) -> str:
    """The message's HTML for the frame: its links open in a tab of their own (the link pages
    refuse to be framed), nothing else changed."""
    head = html.find("<head>")
    at = head + len("<head>") if head >= 0 else 0
    return f'{html[:at]}<base target="_blank">{html[at:]}'


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
        mail = read_mail(path)
        # The sandboxed frame (no scripts, no forms, its own opaque origin) inherits the page's
        # policy: the message's own inline styles are allowed by hash, nothing else.
        page = env.get_template("dev_mail_message.html").render(
            mail=mail, framed_html=framed(mail.html) if mail.html else ""
        )
        policy = content_security_policy(style_hashes=style_hashes(mail.html))
        return HTMLResponse(page, headers={"content-security-policy": policy})
