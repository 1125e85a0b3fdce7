"""Issue 12, the coordinator's whole day in headless Chromium (Debian's), in one test: sign in
through the real OpenID provider's pages; upload a semicolon CSV as Excel saves it with one bad
row and see the row and field named; upload the fixed file and register it; run the sweep a
few business days later and find the placements marked overdue (filter "overdue"); press "send
a reminder now" on one, read the confirmation, see the reminder among its emails and, once
delivered through real SMTP into the catcher, in /dev/mail; sign out and find no personal data
behind the back button.

With ``MOBILITY_SCREENSHOT_DIR`` set, the placements list (1280 px wide, overdue rows) is saved
there as ``board-placements.png``: ``docs/`` holds the one in the README."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from models import Placement
from notifications.mailbox import list_mail
from states.bootstrap import App
from states.calendar.sweep import run_sweep
from tests.board.oidc_provider import Provider
from tests.board.support import PAUS, BoardServer, board_server, load_board_programmes
from tests.board.test_board_browser import through_the_providers_pages
from tests.board.test_board_intake import semicolon_csv, with_a_bad_row
from tests.test_excel_files import _example_rows
from tests.test_web_support import launch_chromium
from web.server import free_port

pytestmark = pytest.mark.browser

# Registered on Tuesday 1 December 2026; paus-2027 reminds after 2 business days.
REGISTERED = datetime(2026, 12, 1, 8, tzinfo=UTC)
SWEPT = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)  # Friday: 3 business days
# The file's first row: the example's address, a Swedish name (tests/test_excel_files.py).
ASA = ("Åsa Öberg", "maria.sjoberg@univ.example")
PERSONAL = (*ASA, "Jörgen Ärlig", "Per Nilsson", "per.nilsson@univ.example", "Johan Ek")


@pytest.fixture
def journey_board(
    sqlite_app: App, provider: Provider, tmp_path: Path
) -> Iterator[tuple[BoardServer, Any]]:
    """The board with OpenID Connect sign-in, /dev/mail, and the catcher its mail goes to."""
    from notifications.catcher import start_catcher

    load_board_programmes(sqlite_app)
    url = sqlite_app.settings.resolved_database_url
    with board_server(
        url, tmp_path / "board-var", provider=provider, dev_mail=True, catcher_port=free_port()
    ) as server:
        catcher = start_catcher(server.app.settings)
        try:
            yield server, catcher
        finally:
            catcher.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def _in_a_thread(function: Any, **kwargs: Any) -> Any:
    """Playwright's sync API keeps an event loop in this thread; the services get their own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, **kwargs).result()


def _deliver(board: BoardServer) -> int:
    from notifications.delivery import deliver_due_sync

    app = board.app
    report = _in_a_thread(
        deliver_due_sync,
        engine=app.engine,
        settings=app.settings,
        config=app.config,
        now=board.clock.now,
    )
    assert report.dead == 0 and report.retried == 0, report
    return int(report.sent)


def _reminders_caught(board: BoardServer, reference: str) -> int:
    return sum(
        1
        for mail in list_mail(board.app.settings.mail_dir)
        if (mail.subject or "").startswith("Påminnelse")
        and (mail.subject or "").endswith(reference)
    )


def _reference_of(app: App, participant_email: str) -> str:
    from models import Person

    with app.reading() as uow:
        query = select(Placement.reference).join(Placement.participant)
        reference = uow.session.scalar(query.where(Person.email == participant_email))
    assert reference is not None
    return reference


def _upload(page: Any, content: bytes) -> None:
    page.set_input_files(
        "#file", {"name": "förslag.csv", "mimeType": "text/csv", "buffer": content}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Förhandsgranska").click()


def _sign_in(page: Any, board: BoardServer) -> None:
    """Through the provider's own login and consent pages, as Johan (paus-2027)."""
    page.goto(f"{board.base}/board/")
    page.get_by_role("link", name="Logga in med ditt lärosäteskonto").click()
    through_the_providers_pages(page, board, "johan")
    assert "Inloggad som Johan Ek" in page.content()


def _sign_in_and_register(page: Any, board: BoardServer) -> None:
    _sign_in(page, board)
    page.get_by_role("link", name="Personrörlighet ut 2027").click()
    page.get_by_role("link", name="Lägg till förslag från en fil").click()

    _upload(page, semicolon_csv(with_a_bad_row(), "cp1252"))
    [bad] = page.locator("tr.has-error").all()
    row = bad.inner_text()
    assert row.split()[0] == "2" and "Jörgen Ärlig" in row, row
    assert "participant_email" in row and "end" in row, row
    assert "Åsa Öberg" in page.locator("main").inner_text()  # Windows-1252 read as such
    assert page.locator("form.register-form").count() == 0, "a file with errors registers"

    _upload(page, semicolon_csv(_example_rows(), "utf-8-sig"))
    assert page.locator("tr.has-error").count() == 0
    with page.expect_navigation():
        page.locator("form.register-form button[type=submit]").click()
    assert "Nya placeringar: 2; redan registrerade: 0." in page.locator("main").inner_text()


def _overdue_list(page: Any, board: BoardServer) -> None:
    """The placements list filtered on overdue, through the form; both rows are overdue."""
    page.goto(f"{board.base}/board/programmes/{PAUS}")
    shots = os.environ.get("MOBILITY_SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / "board-placements.png"), full_page=True)
    page.locator("#overdue").check()
    with page.expect_navigation():
        page.locator("form.selection button[type=submit]").click()
    assert "overdue=1" in page.url
    rows = page.locator("table.placements tbody tr")
    assert rows.count() == 2
    assert page.locator("table.placements tbody tr.overdue").count() == 2
    assert page.locator(".overdue-mark").count() == 2


def _settled_content(page: Any) -> str:
    """The page once it has stopped moving (a page behind the back button may still be
    redirected to the sign-in page, or hand over to the provider)."""
    for _ in range(20):
        page.wait_for_load_state()
        try:
            return str(page.content())
        except PlaywrightError as moving:
            if "is navigating" not in str(moving):
                raise
            page.wait_for_timeout(100)
    raise AssertionError(f"the page behind the back button never settled: {page.url}")


def _emails_of(page: Any) -> list[str]:
    table = page.locator("#emails-heading + .table-scroll tbody tr")
    return [row.inner_text() for row in table.all()]


def test_a_coordinators_day_on_the_board(
    journey_board: tuple[BoardServer, Any], browser: Any
) -> None:
    board, _catcher = journey_board
    base = board.base
    board.clock.now = REGISTERED
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in_and_register(page, board)
    assert _deliver(board) > 0  # the approval requests

    board.clock.now = SWEPT
    swept = _in_a_thread(run_sweep, uow_factory=board.app.uow, as_of=SWEPT)
    assert swept.counts and not swept.failures, swept
    # Friday: Tuesday's session is long over (idle and absolute expiry); sign in anew.
    page.goto(f"{base}/board/programmes/{PAUS}")
    assert page.url.startswith(f"{base}/board/login"), page.url
    context.close()
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, board)
    _overdue_list(page, board)

    reference = _reference_of(board.app, ASA[1])
    page.get_by_role("link", name=reference).click()
    reminders_before = [e for e in _emails_of(page) if "approval_reminder" in e]
    _deliver(board)
    caught_before = _reminders_caught(board, reference)
    assert caught_before == len(reminders_before) == 2  # the sweep's, to both approvers
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka en påminnelse nu").click()
    confirmation = page.locator("main").inner_text()
    assert f"{reference}: en påminnelse skickas med e-post till" in confirmation, confirmation
    assert "Per Nilsson" in confirmation and "Lena Ström" in confirmation

    page.goto(f"{base}/board/programmes/{PAUS}/placements/{reference}")
    queued = [e for e in _emails_of(page) if "approval_reminder" in e]
    assert len(queued) == 4 and sum("i kö" in e for e in queued) == 2, queued
    assert _deliver(board) == 2
    page.reload()
    sent = [e for e in _emails_of(page) if "approval_reminder" in e]
    assert len(sent) == 4 and all("skickat" in e for e in sent), sent
    assert _reminders_caught(board, reference) == caught_before + 2
    page.goto(f"{base}/dev/mail")
    listed = page.locator("main").inner_text()
    assert listed.count(f"godkännande väntar, placering {reference}") == 4, listed

    page.goto(f"{base}/board/programmes/{PAUS}/placements/{reference}")
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_selector("button[value=yes]")
    with page.expect_navigation(url=f"{base}/board/signed-out*"):
        page.locator("button[value=yes]").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Du är utloggad"
    # Back through the day: every board page asks the server again (no-store) and gets the
    # sign-in page; the answer to a POST is not kept at all (Chromium: ERR_CACHE_MISS).
    shown: list[str] = []
    for _ in range(12):
        try:
            if page.go_back() is None:
                break
        except PlaywrightError as refetch_refused:
            assert "ERR_CACHE_MISS" in str(refetch_refused), refetch_refused
        content = _settled_content(page)
        if page.url.startswith(board.app.settings.oidc_issuer or "?"):
            break  # the provider's pages: before the board's first page of the day
        shown.append(page.url)  # a board page, or Chromium's error page for a POST's answer
        if page.url.startswith(f"{base}/dev/mail"):
            continue  # the development catcher, not the board: it shows mail by design
        for personal in PERSONAL:
            assert personal not in content, (page.url, personal)
    print("behind the back button:", *shown, sep="\n  ")
    asked_again = [url for url in shown if url.startswith(f"{base}/board/login?next=/board/")]
    assert len(asked_again) >= 3, shown  # the placement, the list, the programmes at least
    context.close()
