"""Mail scanners open every link: HEAD, GET twice and a browser that runs the page's scripts
must change nothing (issue 3, done-means 3). Then the people's POSTs all succeed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from models import ActionToken, Placement
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
}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium()


@pytest.fixture
def stack(sqlite_template: Path, tmp_path: Path) -> Iterator[Stack]:
    with full_stack(sqlite_template, tmp_path) as running:
        yield running


def snapshot(stack: Stack) -> tuple[list[tuple[str, int, str]], int]:
    """Every placement's (reference, version, state) and how many tokens were ever used."""
    with stack.app.reading() as uow:
        placements = [tuple(r) for r in uow.session.execute(
            select(Placement.reference, Placement.version, Placement.state)
            .order_by(Placement.id))]
        used = uow.session.scalar(
            select(func.count()).select_from(ActionToken).where(ActionToken.used_at.is_not(None))
        )
    return placements, int(used or 0)  # type: ignore[return-value]


def scan(stack: Stack, links: list[str], browser: object) -> int:
    """What a paranoid mail gateway does with every link; returns the requests made."""
    context = browser.new_context(java_script_enabled=True)  # type: ignore[attr-defined]
    page = context.new_page()
    requests = 0
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        for link in links:
            assert client.head(link).status_code == 200
            assert client.get(link).status_code == 200
            assert client.get(link).status_code == 200
            response = page.goto(link, wait_until="load")
            assert response is not None and response.status == 200
            page.wait_for_timeout(50)  # let any script that would act have its moment
            requests += 4
    context.close()
    return requests


def test_scanners_change_nothing_and_people_then_decide(stack: Stack, browser: object) -> None:
    app = stack.app
    load_examples(app)
    stack.clock.now = PROPOSED
    ref = propose_example(app, as_of=PROPOSED)
    stack.clock.now = NOW
    steps = [
        ("manager_approval", "agreement", 2),
        ("agreement", "placement", 3),
        ("evaluation", "completed", 3),
    ]
    scanned = 0
    for state, next_state, expected_links in steps:
        if state == "evaluation":
            from states.transitions import apply_event

            stack.clock.now = ENDED
            apply_event(app.uow(), reference=ref, event="end", actor="sweep", via="flow",
                        as_of=ENDED)
        stack.deliver()
        mails = stack.new_mail()
        links = [link for mail in mails for link in mail.links]
        assert all(link.startswith(f"{stack.base}/l/") for link in links), links
        assert len(links) == expected_links, [m.subject for m in mails]
        before = snapshot(stack)
        assert before[0][0][2] == state
        scanned += scan(stack, links, browser)
        assert snapshot(stack) == before, f"a scanner changed something in {state}"
        for link in links:
            purpose = link_purpose(app, link)
            response = httpx.post(link, data=DECISIONS[purpose], timeout=30)
            assert response.status_code == 200, (purpose, response.text[:500])
        after = snapshot(stack)
        assert after[0][0][2] == next_state
        assert after[1] == before[1] + expected_links
    print(f"scanner: {scanned} requests (HEAD, GET, GET, Chromium) on every link of every "
          "email, 0 state changes, 0 tokens used; then 8 decisions by POST, all 200")
