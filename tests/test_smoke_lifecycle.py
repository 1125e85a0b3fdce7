from __future__ import annotations

from datetime import UTC, datetime

import pytest

from states.bootstrap import App
from states.errors import AlreadyDecided, TransitionRefused
from states.lifecycle.queries import get_placement
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example


def test_a_placement_walks_from_proposal_to_completed(any_app: App) -> None:
    load_examples(any_app)
    ref = propose_example(any_app)
    uow = any_app.uow
    apply_event(uow(), reference=ref, event="approve", role="home_manager", actor="eva", via="link")
    apply_event(uow(), reference=ref, event="approve", role="host_contact", actor="jan", via="link")
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(uow(), reference=ref, event="accept", role=role, actor=role, via="link")
    ended = datetime(2027, 8, 2, 6, tzinfo=UTC)  # the first business day after the last
    apply_event(uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ended)
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            uow(),
            reference=ref,
            event="answer",
            role=role,
            actor=role,
            via="link",
            answers={"goals": 4},
            as_of=ended,
        )
    detail = get_placement(any_app.reading(), reference=ref)
    assert detail.state == "completed"
    assert [h.version for h in detail.history] == list(range(1, detail.version + 1))


def test_withdrawn_placement_cannot_be_approved(any_app: App) -> None:
    load_examples(any_app)
    ref = propose_example(any_app)
    apply_event(
        any_app.uow(), reference=ref, event="withdraw", comment="no time", actor="sara", via="cli"
    )
    with pytest.raises(AlreadyDecided, match=f"{ref} is withdrawn; it can no longer be approved"):
        apply_event(
            any_app.uow(),
            reference=ref,
            event="approve",
            role="home_manager",
            actor="eva",
            via="link",
        )
    with pytest.raises(TransitionRefused):
        apply_event(
            any_app.uow(), reference=ref, event="cancel", comment="x", actor="sara", via="cli"
        )
