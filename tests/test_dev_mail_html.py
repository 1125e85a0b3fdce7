"""``/dev/mail/<message>`` shows the HTML part as the recipient sees it: in a sandboxed frame
(``srcdoc``), styled by the message's own inline styles, which the page's content security
policy allows by hash — the policy is the same strict one otherwise, and nothing in a message
runs or escapes the frame."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import load_examples, propose_example
from tests.test_browser import axe_violations, mail_to
from tests.test_web_support import PROPOSED, Stack, assert_security_headers, full_stack

HOSTILE = (
    '<!DOCTYPE html><html><head><title>x</title></head><body style="color:#123456">'
    '<h1 style="color:#654321">Caught</h1>'
    "<script>parent.document.title = 'script ran'</script>"
    '<img src="x" onerror="parent.document.title = \'handler ran\'">'
    '"></iframe><p id="after">after the frame</p>'
    "</body></html>"
)


@pytest.fixture
def stack(sqlite_template: Path, tmp_path: Path) -> Iterator[Stack]:
    with full_stack(sqlite_template, tmp_path) as running:
        yield running


def caught_approval_request(stack: Stack) -> tuple[str, Any]:
    load_examples(stack.app)
    propose_example(stack.app, as_of=PROPOSED)
    stack.deliver()
    mail = mail_to(stack.new_mail(), "eva.holm@")
    return f"{stack.base}/dev/mail/{mail.name}", mail


def write_hostile_mail(stack: Stack) -> str:
    message = EmailMessage()
    message["Subject"] = "Hostile"
    message["From"] = "x@example.org"
    message["To"] = "y@example.org"
    message.set_content("text")
    message.add_alternative(HOSTILE, subtype="html")
    stack.app.settings.mail_dir.mkdir(parents=True, exist_ok=True)
    path = stack.app.settings.mail_dir / "99999999T999999-0001.eml"
    path.write_bytes(message.as_bytes())
    return f"{stack.base}/dev/mail/{path.name}"


def test_the_html_part_is_in_a_sandboxed_frame_and_the_policy_stays_strict(stack: Stack) -> None:
    url, mail = caught_approval_request(stack)
    page = httpx.get(url)
    assert page.status_code == 200
    assert_security_headers(page)
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'; script-src 'none'; object-src 'none';")
    assert "style-src 'self' 'unsafe-hashes' 'sha256-" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    frame = page.text.split("<iframe", 1)[1].split("</iframe>", 1)[0]
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame
    assert (
        'srcdoc="&lt;!DOCTYPE html&gt;' in frame and "&lt;base target=&#34;_blank&#34;&gt;" in frame
    )
    # The list page and the other pages keep the policy exactly.
    listing = httpx.get(f"{stack.base}/dev/mail")
    assert "style-src" not in listing.headers["content-security-policy"]
    assert mail.html  # the catcher kept the HTML part


def test_a_hostile_message_cannot_leave_its_frame(stack: Stack) -> None:
    page = httpx.get(write_hostile_mail(stack))
    frame = page.text.split("<iframe", 1)[1]
    assert "<script>" not in frame.split("</iframe>", 1)[0]
    assert '<p id="after">' not in page.text  # the quote and the end tag stay inside srcdoc


@pytest.mark.browser
def test_chromium_shows_the_mail_styled_and_runs_nothing(stack: Stack, tmp_path: Path) -> None:
    from tests.test_web_support import launch_chromium

    url, mail = caught_approval_request(stack)
    hostile = write_hostile_mail(stack)
    for browser in launch_chromium():
        page = browser.new_page()
        page.goto(url)
        frame = page.frame_locator("iframe.mail-html")
        assert frame.locator("h1").inner_text() == mail.subject
        button = frame.get_by_role("link", name="Ta ställning till placeringen")
        style = button.evaluate("a => getComputedStyle(a).backgroundColor")
        assert style == "rgb(11, 79, 138)"  # the message's inline style applied
        assert button.get_attribute("target") is None  # the <base target> opens a new tab
        page.screenshot(path=str(tmp_path / "dev-mail.png"), full_page=True)
        assert axe_violations(page) == []

        page.goto(hostile)
        frame = page.frame_locator("iframe.mail-html")
        color = frame.locator("h1").evaluate("h => getComputedStyle(h).color")
        assert color == "rgb(101, 67, 33)"  # #654321: allowed by its hash
        page.wait_for_timeout(300)
        assert page.title() == "Hostile – caught mail"  # neither the script nor the handler ran
        assert page.locator("#after").count() == 0
        page.close()
