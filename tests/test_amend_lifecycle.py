"""Done means 1: a term changes after one party accepted; every party accepts the new version."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from models import (
    AgreementAcceptance,
    AgreementDocument,
    HistoryEntry,
    OutboxMessage,
    Placement,
)
from states.bootstrap import App
from states.errors import AlreadyDecided, InvalidInput, TransitionRefused
from states.lifecycle.amendments import TermsChange, amend_terms
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example

PARTIES = ("participant", "home_manager", "host_contact")
T0 = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _approved(app: App) -> str:
    load_examples(app)
    ref = propose_example(app)
    for role in ("home_manager", "host_contact"):
        apply_event(
            app.uow(), reference=ref, event="approve", role=role, actor=role, via="link", as_of=T0
        )
    return ref


def _agreement_requests(app: App, ref: str) -> list[tuple[str, int | None]]:
    """(recipient role, token id) of every agreement_request queued for ``ref``."""
    with app.reading() as uow:
        placement = uow.session.scalars(select(Placement).where(Placement.reference == ref)).one()
        return [
            (m.context["recipient_role"], m.token_id)
            for m in uow.session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.placement_id == placement.id,
                    OutboxMessage.kind == "agreement_request",
                )
                .order_by(OutboxMessage.id)
            )
        ]


def test_amend_after_one_acceptance_voids_it_and_asks_every_party_again(any_app: App) -> None:
    app = any_app
    ref = _approved(app)
    assert len(_agreement_requests(app, ref)) == 3
    apply_event(
        app.uow(),
        reference=ref,
        event="accept",
        role="participant",
        actor="daniel",
        via="link",
        as_of=T0,
    )

    result = amend_terms(
        app.uow(),
        reference=ref,
        changes=TermsChange(end=date(2027, 8, 31)),
        actor="sara",
        via="cli",
        as_of=T0,
    )
    assert (result.event, result.to_state) == ("amend", "agreement")

    with app.reading() as uow:
        session = uow.session
        placement = session.scalars(select(Placement).where(Placement.reference == ref)).one()
        assert placement.end_date == date(2027, 8, 31)
        assert placement.agreement_version == 2
        documents = session.scalars(
            select(AgreementDocument)
            .where(AgreementDocument.placement_id == placement.id)
            .order_by(AgreementDocument.version)
        ).all()
        assert [d.version for d in documents] == [1, 2]
        assert "31 augusti 2027" in documents[1].content_html
        assert "30 juli 2027" in documents[0].content_html
        first = session.scalars(
            select(AgreementAcceptance).where(AgreementAcceptance.document_id == documents[0].id)
        ).all()
        assert all(a.voided_at is not None for a in first)
        assert [a.role for a in first if a.accepted_at] == ["participant"]
        history = session.scalars(
            select(HistoryEntry).where(
                HistoryEntry.placement_id == placement.id, HistoryEntry.event == "amend"
            )
        ).one()
        assert "end: 2027-07-30 → 2027-08-31" in (history.comment or "")

    # everybody gets the new version: one new agreement_request per party, each with its link
    requests = _agreement_requests(app, ref)
    new = requests[3:]
    assert len(new) == 3 and all(token is not None for _, token in new)
    assert {role for role, _ in new} == set(PARTIES)

    # the participant's earlier acceptance no longer counts: two acceptances do not finish it
    for role in ("home_manager", "host_contact"):
        done = apply_event(
            app.uow(), reference=ref, event="accept", role=role, actor=role, via="link", as_of=T0
        )
        assert done.to_state == "agreement"
    done = apply_event(
        app.uow(),
        reference=ref,
        event="accept",
        role="participant",
        actor="daniel",
        via="link",
        as_of=T0,
    )
    assert done.to_state == "placement"

    with app.reading() as uow:
        session = uow.session
        final = session.scalars(
            select(AgreementDocument).where(AgreementDocument.final_at.is_not(None))
        ).one()
        assert final.version == 2
        assert hashlib.sha256(final.content_html.encode()).hexdigest() == final.sha256
        accepted = session.scalars(
            select(AgreementAcceptance).where(AgreementAcceptance.document_id == final.id)
        ).all()
        assert len(accepted) == 3
        assert {a.sha256 for a in accepted} == {final.sha256}
        assert all(a.voided_at is None and a.accepted_at for a in accepted)


def test_amend_in_proposal_is_a_revision(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, draft=True)
    result = amend_terms(
        app.uow(),
        reference=ref,
        changes=TermsChange(extent_percent=30),
        actor="sara",
        via="cli",
        as_of=T0,
    )
    assert (result.event, result.to_state) == ("revise", "proposal")


@pytest.mark.parametrize("event", ["withdraw"])
def test_amend_refused_outside_proposal_and_agreement(app: App, event: str) -> None:
    load_examples(app)
    ref = propose_example(app)
    with pytest.raises(TransitionRefused, match="waiting for manager approval; its terms can"):
        amend_terms(
            app.uow(),
            reference=ref,
            changes=TermsChange(extent_percent=30),
            actor="sara",
            via="cli",
            as_of=T0,
        )
    apply_event(app.uow(), reference=ref, event=event, comment="no time", actor="s", via="cli")
    with pytest.raises(TransitionRefused, match="is withdrawn"):
        amend_terms(
            app.uow(),
            reference=ref,
            changes=TermsChange(extent_percent=30),
            actor="sara",
            via="cli",
            as_of=T0,
        )


def test_amend_rejects_end_before_start_and_changes_nothing(app: App) -> None:
    ref = _approved(app)
    with pytest.raises(InvalidInput, match="end: 2027-01-01 is not after the start"):
        amend_terms(
            app.uow(),
            reference=ref,
            changes=TermsChange(end=date(2027, 1, 1)),
            actor="sara",
            via="cli",
            as_of=T0,
        )
    with app.reading() as uow:
        placement = uow.session.scalars(select(Placement)).one()
        assert (placement.agreement_version, placement.end_date) == (1, date(2027, 7, 30))


def test_accepting_twice_is_refused(app: App) -> None:
    ref = _approved(app)
    apply_event(
        app.uow(),
        reference=ref,
        event="accept",
        role="participant",
        actor="d",
        via="link",
        as_of=T0,
    )
    with pytest.raises(AlreadyDecided, match="already accepted"):
        apply_event(
            app.uow(),
            reference=ref,
            event="accept",
            role="participant",
            actor="d",
            via="link",
            as_of=T0,
        )
