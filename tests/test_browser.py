"""The pages in headless Chromium: a person opens the link from their email, clicks, and sees
what happened; axe-core finds no accessibility violation on any page (issue 3, done-means 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example
from tests.test_web_support import (
    ENDED,
    NOW,
    PROPOSED,
    Stack,
    full_stack,
    launch_chromium,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def stack(sqlite_template: Path, tmp_path: Path) -> Iterator[Stack]:
    with full_stack(sqlite_template, tmp_path) as running:
        yield running


def axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
    ]


def mail_to(mails: list[Any], address: str) -> Any:
    found = [m for m in mails if address in m.to and m.links]  # the one with a link
    assert len(found) == 1, (address, [m.to for m in mails])
    return found[0]


def test_a_person_walks_every_page_in_chromium_and_axe_finds_nothing(
    stack: Stack,
    browser: Any,
) -> None:
    app = stack.app
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    stack.clock.now = NOW
    stack.deliver()
    mails = stack.new_mail()
    context = browser.new_context()
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    # Eva (Swedish by the programme) opens her approval link and approves.
    eva_link = stack.link_of(mail_to(mails, "eva.holm@"))
    response = page.goto(eva_link)
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.get_by_role("heading", level=1).inner_text() == "Ta ställning till placeringen"
    checked["approval"] = axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Godkänn", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Tack – ditt svar är registrerat"
    assert "Du har godkänt placeringen." in page.content()
    checked["confirmation"] = axe_violations(page)

    # The link again: 410, says what happened and whom to contact.
    response = page.goto(eva_link)
    assert response.status == 410
    assert "Du godkände detta 2 december 2026." in page.content()
    checked["410"] = axe_violations(page)

    # Jan (English) declines without a reason: the 400 page, then approves by keyboard.
    jan_link = stack.link_of(mail_to(mails, "jan.berg@"))
    page.goto(jan_link)
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.get_by_role("button", name="Decline").click()
    assert page.get_by_role("heading", name="The form has errors").is_visible()
    assert page.get_by_label("Comment").get_attribute("aria-invalid") == "true"
    assert "Please give a reason when you decline" in page.locator(".field-error").inner_text()
    checked["approval 400"] = axe_violations(page)
    page.get_by_label("Comment").fill("Welcome!")
    page.get_by_role("button", name="Approve").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Everyone has approved." in page.content()

    # The agreement: Daniel reads it, with its checksum, and accepts.
    stack.deliver()
    mails = stack.new_mail()
    daniel = stack.link_of(mail_to(mails, "daniel.aberg@"))
    page.goto(daniel)
    assert page.get_by_role("heading", level=1).first.inner_text() == "Godkänn avtalet"
    assert "SHA-256" in page.content()
    checked["agreement"] = axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Jag godkänner avtalet").click()
    assert "Du har godkänt avtalet." in page.content()
    for mail in mails:
        if mail.links and "daniel.aberg@" not in mail.to:
            assert httpx.post(stack.link_of(mail), data={"decision": "accept"}).status_code == 200

    # The evaluation: Jan answers with ordinary form controls.
    stack.clock.now = ENDED
    apply_event(app.uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ENDED)
    stack.deliver()
    mails = stack.new_mail()
    evaluation_link = stack.link_of(mail_to(mails, "jan.berg@"))
    page.goto(evaluation_link)
    assert page.get_by_role("heading", level=1).inner_text() == "Evaluation of the placement"
    checked["evaluation"] = axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Send the answers").click()
    assert page.get_by_role("heading", name="The form has errors").is_visible()
    checked["evaluation 400"] = axe_violations(page)
    for legend, value in (
        ("How far were the goals", "4"),
        ("Value for the home", "5"),
        ("Value for the host", "3"),
    ):
        page.get_by_role("group", name=legend).get_by_label(value, exact=True).check()
    page.get_by_role("group", name="Would you do it again").get_by_label("Yes").check()
    page.get_by_label("New contacts").check()
    page.get_by_label("Tell us about the results").fill("Two student projects.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the answers").click()
    assert "Your answers are saved." in page.content()
    assert page.goto(evaluation_link).status == 410
    assert "You answered on 2 August 2027." in page.content()
    assert "Two student projects." in page.content()  # the answers, read-only
    checked["evaluation 410"] = axe_violations(page)

    page.goto(f"{stack.base}/l/not-a-token")
    checked["404"] = axe_violations(page)
    page.goto(f"{stack.base}/dev/mail")
    checked["dev mail"] = axe_violations(page)
    context.close()

    for name, violations in checked.items():
        print(f"axe-core on the {name} page: {len(violations)} violations")
    assert {name: v for name, v in checked.items() if v} == {}


def test_pages_fit_a_phone_screen(stack: Stack, browser: Any) -> None:
    app = stack.app
    load_examples(app)
    propose_example(app, as_of=PROPOSED)
    stack.deliver()
    link = stack.link_of(mail_to(stack.new_mail(), "eva.holm@"))
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(link)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a phone ({width}px)"
    button = page.get_by_role("button", name="Godkänn", exact=True).bounding_box()
    assert button is not None and button["height"] >= 44  # a finger-sized target
    assert axe_violations(page) == []
    context.close()
