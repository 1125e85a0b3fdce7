"""The approval page on a 375 px phone in Chromium: its first screen (800 px) holds the
decision — the buttons — with the period, the extent, the funding and what the co-approver has
already said; the details of the placement come below. Checked on the element boxes and on the
screenshot's pixels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from states.bootstrap import App
from tests.conftest import load_examples, propose_example
from tests.test_browser import mail_to
from tests.test_web_support import NOW, PROPOSED, Stack, full_stack, launch_chromium

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 800}
FIRST_SCREEN = 800
BUTTON_BLUE = (0x0B, 0x4F, 0x8A)  # --accent: the primary button's background


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def stack(sqlite_template: Path, tmp_path: Path) -> Iterator[Stack]:
    with full_stack(sqlite_template, tmp_path) as running:
        yield running


def with_funding(app: App, reference: str, amount: int) -> None:
    from sqlalchemy import update

    from models import Placement

    with app.uow() as uow:
        uow.session.execute(
            update(Placement).where(Placement.reference == reference).values(funding_sek=amount)
        )
        uow.commit()


def first_screen(page: Any, shot: Path) -> dict[str, Any]:
    """Where things are on the page (from its top), and a screenshot of its first screen."""
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, **PHONE})
    return {
        "buttons": [
            page.get_by_role("button", name=name, exact=True).bounding_box()
            for name in page.eval_on_selector_all(
                "form.decision button", "els => els.map(e => e.textContent.trim())"
            )
        ],
        "scroll_width": page.evaluate("document.documentElement.scrollWidth"),
        "scroll_y": page.evaluate("window.scrollY"),
    }


def assert_decision_on_first_screen(page: Any, seen: dict[str, Any], shot: Path) -> None:
    from PIL import Image

    assert seen["scroll_y"] == 0 and seen["scroll_width"] <= PHONE["width"]
    assert len(seen["buttons"]) == 3
    for box in seen["buttons"]:
        assert box is not None and box["y"] + box["height"] <= FIRST_SCREEN, box
        assert box["height"] >= 44  # a finger-sized target
    facts = page.locator("dl.key-facts").bounding_box()
    assert facts["y"] + facts["height"] <= FIRST_SCREEN
    details = page.get_by_role("heading", level=2).last.bounding_box()
    assert details["y"] > seen["buttons"][-1]["y"]  # the details come after
    # The screenshot shows it: the primary button's blue in the middle of its box.
    image = Image.open(shot).convert("RGB")
    assert image.size == (PHONE["width"], FIRST_SCREEN)
    primary = seen["buttons"][0]
    centre = (int(primary["x"] + primary["width"] / 2), int(primary["y"] + 6))
    assert image.getpixel(centre) == BUTTON_BLUE, centre


def test_the_decision_is_on_the_first_screen_of_a_phone(
    stack: Stack, browser: Any, tmp_path: Path
) -> None:
    app = stack.app
    load_examples(app)
    reference = propose_example(app, as_of=PROPOSED)
    with_funding(app, reference, 150_000)
    stack.clock.now = NOW
    stack.deliver()
    mails = stack.new_mail()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()

    # Jan (English) opens his link first: Eva has not decided yet.
    jan_link = stack.link_of(mail_to(mails, "jan.berg@"))
    page.goto(jan_link)
    shot = tmp_path / "en.png"
    assert_decision_on_first_screen(page, first_screen(page, shot), shot)
    facts = page.locator("dl.key-facts").inner_text()
    for fact in (
        "1 February 2027 – 30 July 2027",
        "20 % of working time",
        "SEK\u00a0150,000",
        "Eva Holm has not decided yet",
    ):
        assert fact in facts, (fact, facts)

    # He approves with a comment; Eva (Swedish) sees what he said beside her own decision.
    done = httpx.post(jan_link, data={"decision": "approve", "comment": "Välkommen hit!"})
    assert done.status_code == 200
    page.goto(stack.link_of(mail_to(mails, "eva.holm@")))
    shot = tmp_path / "sv.png"
    assert_decision_on_first_screen(page, first_screen(page, shot), shot)
    assert page.get_by_role("heading", level=1).inner_text() == "Ta ställning till placeringen"
    facts = page.locator("dl.key-facts").inner_text()
    for fact in (
        "1 februari 2027 – 30 juli 2027",
        "20 % av arbetstiden",
        "150\u00a0000\u00a0kr",
        "Jan Berg: godkänd 2 december 2026",
        "Välkommen hit!",
    ):
        assert fact in facts, (fact, facts)
    context.close()
