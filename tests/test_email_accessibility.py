"""The HTML part of every kind of email, in headless Chromium with axe-core: 0 violations.
Recipients read these in webmail and screen readers as much as the pages behind the links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from models import ActionToken, OutboxMessage
from notifications.render import KINDS, render_message
from states.bootstrap import App
from states.lifecycle.loading import load_for_update
from states.lifecycle.outbox import queue_message
from tests.test_email_rendering import DAY, walk_to_completed
from tests.test_web_support import launch_chromium

pytestmark = pytest.mark.browser

LINKED = {"approval_reminder", "agreement_reminder", "evaluation_reminder", "checkin_request"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def html_of_every_kind(app: App) -> dict[str, str]:
    """One HTML part per kind: the lifecycle's kinds from real transitions, the sweep's kinds
    queued the way the sweep queues them; languages alternate."""
    ref = walk_to_completed(app)
    with app.uow() as uow:
        placement = load_for_update(uow.session, ref)
        token = uow.session.scalars(select(ActionToken)).first()
        for number, kind in enumerate(
            (
                "approval_reminder",
                "agreement_reminder",
                "evaluation_reminder",
                "checkin_request",
                "placement_starts",
                "placement_welcome",
                "co_approver_declined",
                "withdrawn_notice",
                "cancelled_notice",
                "changes_requested",
            )
        ):
            queue_message(
                uow,
                kind=kind,
                person=placement.participant,
                placement=placement,
                now=DAY,
                token=token if kind in LINKED else None,
                language=("sv", "en")[number % 2],
                context={
                    "number": 2,
                    "comment": "Budget moved",
                    "role": "host_contact",
                    "recipient_role": "participant",
                },
            )
        queue_message(
            uow,
            kind="escalation_digest",
            person=placement.programme.coordinator,
            placement=None,
            now=DAY,
            language="en",
            context={
                "cases": [
                    {
                        "reference": ref,
                        "programme": "Affilierad kompetens 2027",
                        "state": "manager_approval",
                        "step": "approval",
                        "waiting_since": "2026-12-01",
                        "business_days": 9,
                        "waiting_for": [
                            {
                                "name": "Eva Holm",
                                "role": "home_manager",
                                "email": "eva.holm@verktyg.example",
                            }
                        ],
                    }
                ]
            },
        )
        uow.commit()
    pages: dict[str, str] = {}
    with app.reading() as uow:
        for row in uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            key = f"{row.kind}.{row.language}"
            if key in pages:
                continue
            email = render_message(
                uow.session,
                row,
                minter=app.config.minter,
                base_url="https://m.example.org",
                mail_from=app.settings.mail_from,
                timezone=app.config.timezone,
            )
            pages[key] = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return pages


def test_every_kind_of_email_has_0_axe_violations(examples: App, browser: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    pages = html_of_every_kind(examples)
    assert {key.split(".")[0] for key in pages} == set(KINDS)
    axe = Axe()
    page = browser.new_page()
    failures = {}
    try:
        for key, html in sorted(pages.items()):
            page.set_content(html)
            result = axe.run(page)
            if result.violations_count:
                failures[key] = [v["id"] for v in result.response["violations"]]
    finally:
        page.close()
    assert failures == {}, failures
    print(f"\n  FIGURE axe-core: 0 violations in {len(pages)} emails ({len(KINDS)} kinds)")
