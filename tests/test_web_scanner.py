"""Mail scanners open every link: HEAD, GET twice and a scanner-like client that follows
redirects must change nothing, whether or not a browser is installed; with Chromium, a browser
that runs the page's scripts must change nothing either (issue 3, done-means 3). Then the
people's POSTs all succeed. Without Chromium only the browser case skips (and under CI=true
that skip is a failure: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from models import ActionToken, Placement
from states.calendar.sweep import run_sweep
from tests.conftest import load_examples, propose_example
from tests.test_web_support import (
    ENDED,
    EVALUATION_FORM,
    NOW,
    PROPOSED,
    Stack,
    full_stack,
    launch_chromium,
    link_purpose,
)

DECISIONS = {
    "approval": {"decision": "approve"},
    "agreement": {"decision": "accept"},
    "evaluation": EVALUATION_FORM,
    "checkin": {"decision": "answer", "going_well": "4", "comment": "Going fine"},
}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium()


@pytest.fixture(params=["httpx", pytest.param("chromium", marks=pytest.mark.browser)])
def scanner(request: pytest.FixtureRequest) -> object | None:
    """Which scanners open the links: httpx alone, or httpx and then Chromium."""
    return request.getfixturevalue("browser") if request.param == "chromium" else None


@pytest.fixture
def stack(sqlite_template: Path, tmp_path: Path) -> Iterator[Stack]:
    with full_stack(sqlite_template, tmp_path) as running:
        yield running


def snapshot(stack: Stack) -> tuple[list[tuple[str, int, str]], int]:
    """Every placement's (reference, version, state) and how many tokens were ever used."""
    with stack.app.reading() as uow:
        placements = [
            tuple(r)
            for r in uow.session.execute(
                select(Placement.reference, Placement.version, Placement.state).order_by(
                    Placement.id
                )
            )
        ]
        used = uow.session.scalar(
            select(func.count()).select_from(ActionToken).where(ActionToken.used_at.is_not(None))
        )
    return placements, int(used or 0)  # type: ignore[return-value]


SCANNER_HEADERS = {"user-agent": "Mozilla/5.0 (compatible; SafeLinks-Scanner/1.0)"}


def scan_without_browser(links: list[str]) -> int:
    """What a mail gateway does with every link without running scripts: HEAD, GET twice,
    and a scanner's client that follows redirects and sends its own headers."""
    requests = 0
    with (
        httpx.Client(timeout=30) as plain,
        httpx.Client(timeout=30, follow_redirects=True, headers=SCANNER_HEADERS) as scanner,
    ):
        for link in links:
            assert plain.head(link).status_code == 200
            assert plain.get(link).status_code == 200
            assert plain.get(link).status_code == 200
            followed = scanner.get(link)
            assert followed.status_code == 200 and str(followed.url) == link, followed.url
            requests += 4
    return requests


def scan(stack: Stack, links: list[str], browser: object | None) -> int:
    """What a paranoid mail gateway does with every link; returns the requests made."""
    requests = scan_without_browser(links)
    if browser is None:
        return requests
    context = browser.new_context(java_script_enabled=True)  # type: ignore[attr-defined]
    page = context.new_page()
    methods: list[str] = []
    page.on("request", lambda request: methods.append(request.method))
    for link in links:
        response = page.goto(link, wait_until="load")
        assert response is not None and response.status == 200
        page.wait_for_load_state("networkidle")  # whatever a script would fetch, it has
        requests += 1
    context.close()
    assert set(methods) == {"GET"}, methods  # the browser only ever read
    return requests


MIDWAY = datetime(2027, 5, 3, 7, tzinfo=UTC)


def test_scanners_change_nothing_and_people_then_decide(
    stack: Stack, scanner: object | None
) -> None:
    """Approval, agreement, check-in (sent by the sweep) and evaluation links, all of them."""
    app = stack.app
    load_examples(app)
    stack.clock.now = PROPOSED
    ref = propose_example(app, as_of=PROPOSED)

    def sweep_at(moment: datetime) -> None:
        stack.clock.now = moment
        run_sweep(app.uow, as_of=moment)

    phases: list[tuple[Callable[[], None] | None, str, str]] = [
        (lambda: setattr(stack.clock, "now", NOW), "manager_approval", "agreement"),
        (None, "agreement", "placement"),
        (lambda: sweep_at(MIDWAY), "placement", "placement"),  # check-ins
        (lambda: sweep_at(ENDED), "evaluation", "completed"),
    ]
    scanned = decided = 0
    for before_phase, state, next_state in phases:
        if before_phase is not None:
            before_phase()
        stack.deliver()
        links = [link for mail in stack.new_mail() for link in mail.links]
        assert links, f"no link was emailed in {state}"
        assert all(link.startswith(f"{stack.base}/l/") for link in links), links
        before = snapshot(stack)
        assert before[0][0][2] == state
        scanned += scan(stack, links, scanner)
        assert snapshot(stack) == before, f"a scanner changed something in {state}"
        for link in links:
            purpose = link_purpose(app, link)
            response = httpx.post(link, data=DECISIONS[purpose], timeout=30)
            assert response.status_code == 200, (purpose, response.text[:500])
            decided += 1
        after = snapshot(stack)
        assert after[0][0][2] == next_state
        assert after[1] == before[1] + len(links)
    assert ref == before[0][0][0]
    kinds = "HEAD, GET, GET, redirect-following GET" + (", Chromium" if scanner else "")
    print(
        f"scanner: {scanned} requests ({kinds}) on the links of every email, 0 state changes, "
        f"0 tokens used; then {decided} decisions by POST, all 200"
    )
