"""A reminder on request: whoever still has to act is reminded now, with the link they hold;
nothing else changes, and the sweep counts it with its own reminders."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ActionToken, HistoryEntry, OutboxMessage, Placement, ReminderLog
from states.bootstrap import App
from states.errors import NotFound, TransitionRefused
from states.lifecycle.transitions import apply_event
from states.links.remind import remind_now
from tests.conftest import load_examples, propose_example
from tests.test_links import NOW, PROPOSED, act, live_links, version_of


@pytest.fixture
def proposed(app: App) -> tuple[App, str]:
    load_examples(app)
    return app, propose_example(app, as_of=PROPOSED)


def _history(app: App, reference: str) -> int:
    with app.reading() as uow:
        return len(
            uow.session.scalars(
                select(HistoryEntry.id)
                .join(Placement, Placement.id == HistoryEntry.placement_id)
                .where(Placement.reference == reference)
            ).all()
        )


def test_remind_now_reminds_only_who_still_has_to_act_with_the_link_they_hold(
    proposed: tuple[App, str],
) -> None:
    app, ref = proposed
    links = live_links(app, ref, "approval")
    act(app, links["home_manager"], "approve")
    version, history = version_of(app, ref), _history(app, ref)
    reminded = remind_now(app.uow(), reference=ref, actor="sara", via="board", now=NOW)
    assert [(r.role, r.person_name) for r in reminded] == [("host_contact", "Jan Berg")]
    assert (version_of(app, ref), _history(app, ref)) == (version, history)
    with app.reading() as uow:
        message = uow.session.get(OutboxMessage, reminded[0].outbox_id)
        assert message is not None
        assert (message.kind, message.to_email) == ("approval_reminder", "jan.berg@univ.example")
        token = uow.session.get(ActionToken, message.token_id)
        assert token is not None and app.config.minter.raw_for(token) == links["host_contact"]
        assert message.context["number"] == 1 and message.context["via"] == "board"
        logged = uow.session.scalars(select(ReminderLog.kind)).all()
        assert logged == ["manual"]
    # A second request is the person's second reminder; their link still decides.
    again = remind_now(app.uow(), reference=ref, actor="sara", via="cli", now=NOW)
    with app.reading() as uow:
        second = uow.session.get(OutboxMessage, again[0].outbox_id)
        assert second is not None and second.context["number"] == 2
    assert act(app, links["host_contact"], "approve").to_state == "agreement"


def test_remind_now_refuses_when_nobody_has_a_step_to_be_reminded_of(
    proposed: tuple[App, str],
) -> None:
    app, ref = proposed
    apply_event(
        app.uow(), reference=ref, event="withdraw", comment="x", actor="sara", via="cli", as_of=NOW
    )
    with pytest.raises(TransitionRefused, match="nobody has a step to be reminded of"):
        remind_now(app.uow(), reference=ref, actor="sara", via="cli", now=NOW)
    with pytest.raises(NotFound):
        remind_now(app.uow(), reference="PL-1999-0001", actor="sara", via="cli", now=NOW)
    with app.reading() as uow:
        assert uow.session.scalars(select(ReminderLog.id)).all() == []
