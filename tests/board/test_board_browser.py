"""The board in headless Chromium (Debian's): sign in through the real OpenID provider's own
pages, use the board in both languages with axe-core finding nothing, sign out (here and at the
provider) and find no personal data behind the back button; the development sign-in by
keyboard alone on a 375 px screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.board.support import AFFILIATION, PAUS, BoardServer
from tests.test_browser import axe_violations
from tests.test_web_support import launch_chromium

pytestmark = pytest.mark.browser

PERSONAL = ("Sara Lind", "sara.lind@univ.example", "Affilierad kompetens 2027")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def through_the_providers_pages(page: Any, board: BoardServer, login: str) -> None:
    """The provider's own pages, as a person fills them in: its login form, then consent."""
    page.wait_for_selector("input[name=login]")
    assert page.url.startswith(board.app.settings.oidc_issuer or "?")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign-in").click()
    with page.expect_navigation(url=f"{board.base}/board/"):
        page.get_by_role("button", name="Continue").click()


def test_sign_in_use_and_sign_out_in_chromium(sqlite_oidc_board: BoardServer, browser: Any) -> None:
    base = sqlite_oidc_board.base
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    page.goto(f"{base}/board/")
    assert page.url.startswith(f"{base}/board/login")
    assert page.get_by_role("heading", level=1).inner_text() == "Logga in"
    checked["sign-in (sv)"] = axe_violations(page)
    page.get_by_role("link", name="Logga in med ditt lärosäteskonto").click()
    through_the_providers_pages(page, sqlite_oidc_board, "sara")

    assert page.get_by_role("heading", level=1).inner_text() == "Dina program"
    assert "Inloggad som Sara Lind" in page.content()
    checked["programmes (sv)"] = axe_violations(page)
    page.get_by_role("link", name="Affilierad kompetens 2027").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Affilierad kompetens 2027"
    checked["programme (sv)"] = axe_violations(page)
    assert page.goto(f"{base}/board/programmes/{PAUS}").status == 403
    checked["403 (sv)"] = axe_violations(page)

    page.goto(f"{base}/board/")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your programmes"
    assert page.locator("html").get_attribute("lang") == "en"
    checked["programmes (en)"] = axe_violations(page)
    page.get_by_role("link", name="Affilierad kompetens 2027").click()
    checked["programme (en)"] = axe_violations(page)
    page.goto(f"{base}/board/programmes/{PAUS}")
    checked["403 (en)"] = axe_violations(page)
    page.goto(f"{base}/board/programmes/{AFFILIATION}")

    # Sign out: the session ends here, then the provider asks, then back to the board.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("button[value=yes]")
    assert page.url.startswith(f"{sqlite_oidc_board.app.settings.oidc_issuer}/session/end")
    with page.expect_navigation(url=f"{base}/board/signed-out*"):
        page.locator("button[value=yes]").click()
    assert page.get_by_role("heading", level=1).inner_text() == "You are signed out"
    checked["signed out (en)"] = axe_violations(page)

    # The back button shows no personal data: every page behind it asks the server again.
    for _ in range(8):
        if page.go_back() is None:
            break
        page.wait_for_load_state()
        if page.url.startswith(base):
            content = page.content()
            for personal in PERSONAL:
                assert personal not in content, (page.url, personal)
    context.close()

    for name, violations in checked.items():
        print(f"axe-core on the board's {name} page: {len(violations)} violations")
    assert {name: v for name, v in checked.items() if v} == {}


def test_the_dev_sign_in_by_keyboard_on_a_phone(
    sqlite_dev_board: BoardServer, browser: Any
) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, locale="en-GB"
    )
    page = context.new_page()
    checked: dict[str, list[str]] = {}
    page.goto(f"{sqlite_dev_board.base}/board/login")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Development sign-in" in page.locator(".dev-banner").inner_text()
    checked["dev sign-in (en)"] = axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Svenska").click()
    assert "Utvecklingsinloggning" in page.locator(".dev-banner").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    checked["dev sign-in (sv)"] = axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()

    # Keyboard only: Tab to the second coordinator, choose her, Tab to the button, Enter.
    page.get_by_label("Johan Ek (johan.ek@univ.example)").focus()
    page.keyboard.press("ArrowDown")
    assert page.get_by_label("Sara Lind (sara.lind@univ.example)").is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sign in"
    with page.expect_navigation(url=f"{sqlite_dev_board.base}/board/"):
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "Your programmes"
    for name in ("programmes (en)", "programmes (sv)"):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the {name} page scrolls sideways on a phone ({width}px)"
        checked[name] = axe_violations(page)
        if name.endswith("(en)"):
            with page.expect_navigation():
                page.get_by_role("button", name="Svenska").click()
    page.get_by_role("link", name="Affilierad kompetens 2027").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    checked["programme (sv)"] = axe_violations(page)
    button = page.get_by_role("button", name="Logga ut").bounding_box()
    assert button is not None and button["height"] >= 44
    context.close()
    assert {name: v for name, v in checked.items() if v} == {}


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_other_board_pages_have_no_axe_violation(
    sqlite_oidc_board: BoardServer, browser: Any, language: str
) -> None:
    base = sqlite_oidc_board.base
    context = browser.new_context(extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    checked: dict[str, list[str]] = {}
    page.goto(f"{base}/board/login")
    checked["sign-in"] = axe_violations(page)
    page.goto(f"{base}/board/signed-out")
    checked["signed out"] = axe_violations(page)
    assert page.goto(f"{base}/board/auth/callback?code=x&state=y").status == 403
    checked["sign-in failed"] = axe_violations(page)
    page.goto(f"{base}/board/auth/start")
    through_the_providers_pages(page, sqlite_oidc_board, "olle")  # coordinates nothing
    checked["403 no programme"] = axe_violations(page)
    assert page.goto(f"{base}/board/programmes/no-such-programme").status == 404
    checked["404"] = axe_violations(page)
    # The page that hands over to the provider's sign-out moves on by itself; a 204 from
    # the provider keeps it on the screen for axe.
    page.route(
        f"{sqlite_oidc_board.app.settings.oidc_issuer}/session/end**",
        lambda r: r.fulfill(status=204),
    )
    sign_out = {"sv": "Logga ut", "en": "Sign out"}[language]
    page.get_by_role("button", name=sign_out).click()
    page.wait_for_selector("meta[http-equiv=refresh]", state="attached")
    page.wait_for_timeout(300)
    assert "/session/end" in (page.locator("a[href*='/session/end']").get_attribute("href") or "")
    checked["handing over to the provider's sign-out"] = axe_violations(page)
    context.close()
    for name, violations in checked.items():
        print(f"axe-core on the board's {name} page ({language}): {len(violations)} violations")
    assert {name: v for name, v in checked.items() if v} == {}


INTAKE_WORDS = {
    "sv": {"preview": "Förhandsgranska", "intake": "Lägg till förslag från en fil"},
    "en": {"preview": "Preview", "intake": "Add proposals from a file"},
}


def _narrow(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the {name} page scrolls sideways on a phone ({width}px)"


def _upload_by_keyboard(page: Any, name: str, content: bytes, button: str) -> None:
    page.set_input_files("#file", {"name": name, "mimeType": "text/csv", "buffer": content})
    page.get_by_role("button", name=button).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize("language", ["sv", "en"])
def test_intake_preview_and_report_on_a_phone_by_keyboard(
    sqlite_dev_board: BoardServer, browser: Any, language: str
) -> None:
    """Issue 12 part 3: upload a semicolon CSV with one bad row, see the row and field named,
    upload the fixed file, register it by keyboard, read the report; axe-core finds nothing on
    any of these pages, at 375 px, in both languages."""
    from tests.board.test_board_intake import semicolon_csv, with_a_bad_row
    from tests.test_excel_files import _example_rows

    base = sqlite_dev_board.base
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
        extra_http_headers={"Accept-Language": language},
    )
    page = context.new_page()
    checked: dict[str, list[str]] = {}
    words = INTAKE_WORDS[language]
    page.goto(f"{base}/board/login?next=/board/programmes/{PAUS}")
    page.get_by_label("Johan Ek (johan.ek@univ.example)").check()
    with page.expect_navigation(url=f"{base}/board/programmes/{PAUS}"):
        page.locator("form[action='/board/login/dev'] button[type=submit]").click()
    page.get_by_role("link", name=words["intake"]).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _narrow(page, "intake")
    checked["intake"] = axe_violations(page)

    bad = semicolon_csv(with_a_bad_row(), "cp1252")
    _upload_by_keyboard(page, "förslag.csv", bad, words["preview"])
    assert page.locator("tr.has-error").count() == 1
    assert "participant_email" in page.locator("tr.has-error").inner_text()
    _narrow(page, "preview with errors")
    checked["preview with errors"] = axe_violations(page)
    assert page.locator("form.register-form").count() == 0

    fixed = semicolon_csv(_example_rows(), "utf-8-sig")
    _upload_by_keyboard(page, "förslag.csv", fixed, words["preview"])
    _narrow(page, "preview")
    checked["preview"] = axe_violations(page)
    page.locator("form.register-form button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("[role=status]").inner_text().endswith(": 0.")  # nothing already there
    checked["registered"] = axe_violations(page)

    page.goto(f"{base}/board/programmes/{PAUS}/report")
    images = page.locator("figure.chart img")
    assert images.count() == 4
    loaded = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert loaded, "a chart did not load (CSP: images from self)"
    _narrow(page, "report")
    checked["report"] = axe_violations(page)
    context.close()
    for name, violations in checked.items():
        print(f"axe-core on the board's {name} page ({language}): {len(violations)} violations")
    assert {name: v for name, v in checked.items() if v} == {}
