"""The desk's pages in headless Chromium (Debian's) on a 375 px phone, by keyboard: the
programmes, a programme's placements (filtered through the form), one placement and an
action's confirmation, each with axe-core finding nothing, in Swedish and English."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.board.support import AFFILIATION, BoardServer
from tests.board.test_board_desk import ENDED, in_evaluation
from tests.test_browser import axe_violations
from tests.test_web_support import launch_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def _fits(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the {name} page scrolls sideways on a phone ({width}px)"


def _press(page: Any, locator: Any) -> None:
    """Keyboard only: focus the control and press Enter, wait for the next page."""
    locator.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize(("language", "locale"), [("sv", "sv-SE"), ("en", "en-GB")])
def test_the_desk_on_a_phone_by_keyboard_has_no_axe_violation(
    sqlite_dev_board: BoardServer, browser: Any, language: str, locale: str
) -> None:
    app = sqlite_dev_board.app
    evaluated = in_evaluation(app)
    sqlite_dev_board.clock.now = ENDED
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, locale=locale
    )
    page = context.new_page()
    checked: dict[str, list[str]] = {}
    page.goto(f"{sqlite_dev_board.base}/board/login")
    page.get_by_label("Sara Lind (sara.lind@univ.example)").check()
    _press(page, page.locator("form[action='/board/login/dev'] button[type=submit]"))
    assert page.locator("html").get_attribute("lang") == language
    _fits(page, "programmes")
    checked["programmes"] = axe_violations(page)
    _press(page, page.locator(f"a[href='/board/programmes/{AFFILIATION}']"))
    _fits(page, "placements")
    checked["placements"] = axe_violations(page)
    page.locator("#sort").select_option("waiting")
    page.locator("#stage").select_option("evaluation")
    _press(page, page.locator("form.selection button[type=submit]"))
    assert "sort=waiting" in page.url and "stage=evaluation" in page.url
    checked["placements, filtered"] = axe_violations(page)
    _press(page, page.locator(f"a[href$='/placements/{evaluated}']"))
    _fits(page, "placement")
    checked["placement"] = axe_violations(page)
    _press(page, page.locator(f"form[action$='/{evaluated}/remind'] button"))
    assert evaluated in page.locator("main").inner_text()
    checked["reminder confirmed"] = axe_violations(page)
    context.close()
    for name, violations in checked.items():
        print(f"axe-core on the board's {name} page ({language}): {len(violations)} violations")
    assert {name: v for name, v in checked.items() if v} == {}
