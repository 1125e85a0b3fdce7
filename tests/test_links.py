"""The link services: reading never changes anything; acting is one transaction; resend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import ActionToken, EvaluationResponse, OutboxMessage, Placement
from states.bootstrap import App
from states.errors import NotFound, TransitionRefused
from states.lifecycle.transitions import apply_event
from states.links.pages import act_on_link, open_link
from states.links.resend import resend_links
from tests.conftest import load_examples, propose_example

PROPOSED = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
ENDED = datetime(2027, 8, 2, 6, tzinfo=UTC)  # the first business day after the last


def live_links(app: App, reference: str, purpose: str) -> dict[str, str]:
    """role → raw token of the live links of ``purpose``."""
    from states.links.pages import _subject

    with app.reading() as uow:
        session = uow.session
        tokens = session.scalars(
            select(ActionToken)
            .join(Placement, Placement.id == ActionToken.placement_id)
            .where(
                Placement.reference == reference,
                ActionToken.purpose == purpose,
                ActionToken.used_at.is_(None),
                ActionToken.revoked_at.is_(None),
            )
            .order_by(ActionToken.id)
        ).all()
        return {
            _subject(session, t).role: app.config.minter.raw_for(t)  # type: ignore[union-attr]
            for t in tokens
        }


def version_of(app: App, reference: str) -> int:
    with app.reading() as uow:
        return uow.session.scalar(select(Placement.version).where(Placement.reference == reference))


def act(
    app: App,
    raw: str,
    decision: str | None = None,
    comment: str | None = None,
    form: dict[str, list[str]] | None = None,
    now: datetime = NOW,
):
    return act_on_link(
        app.uow(),
        raw_token=raw,
        decision=decision,
        comment=comment,
        answers_form=form or {},
        now=now,
    )


@pytest.fixture
def proposed(app: App) -> tuple[App, str]:
    load_examples(app)
    return app, propose_example(app, as_of=PROPOSED)


def test_open_link_reads_only(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    before = version_of(app, ref)
    for _ in range(3):
        view = open_link(app.reading(), raw_token=raw, now=NOW)
    assert view.status.live and view.purpose == "approval" and view.role == "home_manager"
    assert view.person_name == "Eva Holm" and view.language == "sv"
    assert view.placement.reference == ref and view.placement.extent_percent == 20
    assert version_of(app, ref) == before
    assert live_links(app, ref, "approval")["home_manager"] == raw


def test_unknown_and_altered_tokens_are_not_found(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    altered = ("A" if raw[0] != "A" else "B") + raw[1:]
    for bad in (altered, "", "x" * 500, "ö" * 43):
        with pytest.raises(NotFound):
            open_link(app.reading(), raw_token=bad, now=NOW)
        with pytest.raises(NotFound):
            act(app, bad, "approve")


def test_approve_through_links_moves_to_agreement(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    links = live_links(app, ref, "approval")
    first = act(app, links["home_manager"], "approve")
    assert (first.kind, first.decision, first.to_state) == ("done", "approve", "manager_approval")
    again = act(app, links["home_manager"], "approve")
    assert again.kind == "gone"
    assert (again.view.status.reason, again.view.status.detail) == ("decided_by_you", "approved")
    second = act(app, links["host_contact"], "approve", comment="Welcome!")
    assert (second.kind, second.to_state) == ("done", "agreement")
    assert set(live_links(app, ref, "agreement")) == {"participant", "home_manager", "host_contact"}


def test_decline_without_reason_is_refused_and_nothing_is_stored(
    proposed: tuple[App, str],
) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    before = version_of(app, ref)
    for decision in ("decline", "request_changes"):
        outcome = act(app, raw, decision, comment="   ")
        assert outcome.kind == "invalid"
        assert [e.field for e in outcome.errors] == ["comment"]
    assert act(app, raw, "launch_missiles").kind == "invalid"
    assert act(app, raw, None).kind == "invalid"
    assert version_of(app, ref) == before
    assert live_links(app, ref, "approval")["home_manager"] == raw  # token not used
    done = act(app, raw, "decline", comment="No time this spring")
    assert (done.kind, done.to_state) == ("done", "declined")
    other = live_links(app, ref, "approval")["host_contact"]
    gone = act(app, other, "approve")
    assert gone.kind == "gone" and gone.view.status.reason == "declined"


def test_link_after_withdrawal_is_gone(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    apply_event(
        app.uow(),
        reference=ref,
        event="withdraw",
        comment="no time",
        actor="sara",
        via="cli",
        as_of=NOW,
    )
    assert open_link(app.reading(), raw_token=raw, now=NOW).status.reason == "withdrawn"
    outcome = act(app, raw, "approve")
    assert outcome.kind == "gone" and outcome.view.status.reason == "withdrawn"


def test_expired_link_is_gone(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    before = version_of(app, ref)
    later = PROPOSED + timedelta(days=31)
    assert open_link(app.reading(), raw_token=raw, now=later).status.reason == "expired"
    assert act(app, raw, "approve", now=later).kind == "gone"
    assert version_of(app, ref) == before


def test_token_pointing_at_another_placements_step_is_refused(app: App) -> None:
    """A token row whose step belongs to another placement cannot act on either of them."""
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    other = propose_example_variant(app)
    raw = live_links(app, ref, "approval")["home_manager"]
    versions = version_of(app, ref), version_of(app, other)
    with app.uow() as uow:
        other_id = uow.session.scalar(select(Placement.id).where(Placement.reference == other))
        uow.session.execute(
            update(ActionToken)
            .where(ActionToken.token_hash == _hash(raw))
            .values(placement_id=other_id)
        )
        uow.commit()
    outcome = act(app, raw, "approve")
    assert outcome.kind == "gone" and outcome.view.status.reason == "step_over"
    assert (version_of(app, ref), version_of(app, other)) == versions


def _hash(raw: str) -> str:
    from states.tokens import hash_token

    return hash_token(raw)


def propose_example_variant(app: App) -> str:
    from states.intake.input_files import load_proposals
    from states.intake.registration import register_proposals
    from tests.conftest import EXAMPLES

    proposal = load_proposals(EXAMPLES / "proposal.yaml")[0]
    changed = proposal.model_copy(update={"start": proposal.start.replace(month=3)})
    return register_proposals(
        app.uow(), proposals=[changed], actor="sara", via="cli", as_of=PROPOSED
    )[0].reference


def test_agreement_and_evaluation_through_links(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    links = live_links(app, ref, "approval")
    for raw in links.values():
        act(app, raw, "approve")
    agreement = live_links(app, ref, "agreement")
    view = open_link(app.reading(), raw_token=agreement["participant"], now=NOW)
    assert view.agreement is not None and len(view.agreement.sha256) == 64
    assert act(app, agreement["participant"], "approve").kind == "invalid"
    outcomes = [act(app, raw, "accept") for raw in agreement.values()]
    assert [o.to_state for o in outcomes][-1] == "placement"
    apply_event(app.uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ENDED)
    evaluation = live_links(app, ref, "evaluation")
    raw = evaluation["participant"]
    view = open_link(app.reading(), raw_token=raw, now=ENDED)
    assert [q.key for q in view.questions][:3] == ["goals_reached", "value_home", "value_host"]
    bad = act(app, raw, "answer", form={"goals_reached": ["9"]}, now=ENDED)
    assert bad.kind == "invalid"
    assert {e.field for e in bad.errors} == {"goals_reached", "value_home", "value_host", "again"}
    form = {
        "goals_reached": ["4"],
        "value_home": ["5"],
        "value_host": ["3"],
        "again": ["yes"],
        "outcomes": ["course", "new_contacts"],
        "outcomes_text": ["A new course module"],
    }
    done = act(app, raw, "answer", form=form, now=ENDED)
    assert done.kind == "done"
    answered = open_link(app.reading(), raw_token=raw, now=ENDED)
    assert answered.status.reason == "decided_by_you"
    assert answered.answers == {
        "goals_reached": 4,
        "value_home": 5,
        "value_host": 3,
        "again": True,
        "outcomes": ["course", "new_contacts"],
        "outcomes_text": "A new course module",
    }


def test_checkin_stores_answers_without_a_state_change(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    for raw in live_links(app, ref, "approval").values():
        act(app, raw, "approve")
    for raw in live_links(app, ref, "agreement").values():
        act(app, raw, "accept")
    midway = datetime(2027, 4, 20, 7, tzinfo=UTC)
    from states.lifecycle.loading import load_for_update
    from states.lifecycle.outbox import mint_link
    from states.lifecycle.policy import Recipient

    with app.uow() as uow:
        placement = load_for_update(uow.session, ref)
        response = EvaluationResponse(
            placement_id=placement.id,
            kind="checkin",
            role="participant",
            person_id=placement.participant_id,
            requested_at=midway,
        )
        uow.session.add(response)
        uow.session.flush()
        mint_link(
            uow,
            placement=placement,
            now=midway,
            purpose="checkin",
            recipient=Recipient(placement.participant, "participant", response.id),
        )
        uow.commit()
    raw = live_links(app, ref, "checkin")["participant"]
    before = version_of(app, ref)
    view = open_link(app.reading(), raw_token=raw, now=midway)
    assert [q.key for q in view.questions] == ["going_well", "comment"]
    assert act(app, raw, "answer", form={}, now=midway).kind == "invalid"
    done = act(app, raw, "answer", form={"going_well": ["4"], "comment": ["fine"]}, now=midway)
    assert (done.kind, done.to_state) == ("done", "placement")
    assert version_of(app, ref) == before
    again = open_link(app.reading(), raw_token=raw, now=midway)
    assert again.status.reason == "decided_by_you"
    assert again.answers == {"going_well": 4, "comment": "fine"}


def test_resend_revokes_old_links_and_queues_new_ones(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    old = live_links(app, ref, "approval")
    act(app, old["home_manager"], "approve")
    resent = resend_links(app.uow(), reference=ref, actor="sara", now=NOW)
    assert [(r.role, r.person_name) for r in resent] == [("host_contact", "Jan Berg")]
    gone = open_link(app.reading(), raw_token=old["host_contact"], now=NOW)
    assert (gone.status.reason, gone.status.detail) == ("revoked", "resent")
    assert act(app, old["host_contact"], "approve").kind == "gone"
    new = live_links(app, ref, "approval")
    assert set(new) == {"host_contact"} and new["host_contact"] != old["host_contact"]
    with app.reading() as uow:
        message = uow.session.get(OutboxMessage, resent[0].outbox_id)
        assert message is not None
        assert (message.kind, message.to_email) == ("approval_request", "jan.berg@univ.example")
        assert message.token_id is not None and message.language == "en"
    assert act(app, new["host_contact"], "approve").to_state == "agreement"


def test_resend_refuses_when_nobody_has_to_act(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    apply_event(
        app.uow(), reference=ref, event="withdraw", comment="x", actor="sara", via="cli", as_of=NOW
    )
    with pytest.raises(TransitionRefused, match="nobody has a link"):
        resend_links(app.uow(), reference=ref, actor="sara", now=NOW)
    with pytest.raises(NotFound):
        resend_links(app.uow(), reference="PL-1999-0001", actor="sara", now=NOW)
