"""Each recipient role gets text written for that role, through real transitions: the other
approvers are told when one declines; the coordinator is never told to contact the
coordinator, nor thanked for taking part; the participant reads about "din placering"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from states.bootstrap import App
from states.lifecycle.transitions import apply_event
from tests.conftest import propose_example
from tests.test_email_rendering import parts, rendered, walk_to_completed

DAY = datetime(2026, 12, 2, 9, tzinfo=UTC)


def decide(app: App, reference: str, role: str, event: str, comment: str | None = None) -> None:
    apply_event(
        app.uow(),
        reference=reference,
        event=event,
        role=role,
        actor=role,
        via="link",
        comment=comment,
        as_of=DAY,
    )


@pytest.mark.parametrize("host_approved_first", [False, True])
def test_the_other_approvers_are_told_when_one_declines(
    examples: App, host_approved_first: bool
) -> None:
    reference = propose_example(examples)
    if host_approved_first:
        decide(examples, reference, "host_contact", "approve")
    decide(examples, reference, "home_manager", "decline", "Vi kan inte avvara henne i vår.")
    told = list(rendered(examples, kind="co_approver_declined"))
    assert [row.to_email for row, _ in told] == ["jan.berg@univ.example"]  # not the decliner
    (row, message) = told[0]
    text, html = parts(message)
    assert row.language == "en"  # Jan reads English
    assert message["Subject"] == f"Declined: placement {reference}"
    for part in (text, html):
        assert "has been declined by the manager at the home organisation" in part
        assert "the link you received about it no longer works" in part
        assert "Vi kan inte avvara henne i vår." in part
    # The participant and the coordinator get the decision, as before.
    decisions = {r.to_email for r, _ in rendered(examples, kind="decision_notice")}
    assert decisions == {"daniel.aberg@verktyg.example", "sara.lind@univ.example"}


def test_a_request_for_changes_tells_no_co_approver_of_a_decline(examples: App) -> None:
    reference = propose_example(examples)
    decide(examples, reference, "home_manager", "request_changes", "Lägg till en plan.")
    assert list(rendered(examples, kind="co_approver_declined")) == []


def test_the_coordinator_is_not_told_to_contact_themselves_nor_thanked(examples: App) -> None:
    walk_to_completed(examples)
    to_sara = [(row, m) for row, m in rendered(examples) if row.to_email.startswith("sara.")]
    assert {row.kind for row, _ in to_sara} == {"decision_notice", "completion_notice"}
    for row, message in to_sara:
        text, html = parts(message)
        for part in (text, html):
            assert "sara.lind@univ.example" not in part, row.kind
            assert "Kontakta" not in part and "Tack för din medverkan" not in part, row.kind
    (completion,) = [parts(m)[0] for row, m in to_sara if row.kind == "completion_notice"]
    assert "Alla har svarat på utvärderingen" in completion
    # The participant is thanked, and told whom to ask.
    (daniel,) = [
        parts(m)[0]
        for row, m in rendered(examples, kind="completion_notice")
        if row.to_email.startswith("daniel.")
    ]
    assert "Din placering" in daniel and "Tack för din medverkan!" in daniel
    assert "Kontakta programmets samordnare, Sara Lind, sara.lind@univ.example." in daniel


def test_answers_emails_do_not_say_you_decide_with_a_button(examples: App) -> None:
    walk_to_completed(examples)
    for row, message in rendered(examples):
        text, _html = parts(message)
        if row.kind == "evaluation_request":
            assert "dina svar sparas först när du skickar dem" in text or (
                "your answers are saved only when you send them" in text
            )
            assert "knapp" not in text and "button" not in text.split("\n-- \n")[0]
        if row.kind == "approval_request":
            assert "du bestämmer med en knapp" in text or "you decide with a button" in text
