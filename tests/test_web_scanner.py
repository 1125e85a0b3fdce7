"""Mail scanners open every link: HEAD, GET twice and a browser that runs the page's scripts
must change nothing (issue 3, done-means 3). Then the people's POSTs all succeed."""

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


def scan(stack: Stack, links: list[str], browser: object) -> int:
    """What a paranoid mail gateway does with every link; returns the requests made."""
    context = browser.new_context(java_script_enabled=True)  # type: ignore[attr-defined]
    page = context.new_page()
    methods: list[str] = []
    page.on("request", lambda request: methods.append(request.method))
    requests = 0
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        for link in links:
            assert client.head(link).status_code == 200
            assert client.get(link).status_code == 200
            assert client.get(link).status_code == 200
            response = page.goto(link, wait_until="load")
            assert response is not None and response.status == 200
            page.wait_for_load_state("networkidle")  # whatever a script would fetch, it has
            requests += 4
    context.close()
    assert set(methods) == {"GET"}, methods  # the browser only ever read
    return requests


MIDWAY = datetime(2027, 5, 3, 7, tzinfo=UTC)


def test_scanners_change_nothing_and_people_then_decide(stack: Stack, browser: object) -> None:
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
        scanned += scan(stack, links, browser)
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
    print(
        f"scanner: {scanned} requests (HEAD, GET, GET, Chromium) on the links of every "
        f"email, 0 state changes, 0 tokens used; then {decided} decisions by POST, all 200"
    )
