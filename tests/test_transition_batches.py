"""The fast paths of the transition service keep its guarantees (issue 6).

* ``decide`` reads the machine's own transition table once per process: it must answer exactly
  as a ``PlacementMachine`` instance does, for every state, event and guard outcome.
* ``apply_event_to_many_in`` (a file of proposals submitted at once) still compare-and-sets
  each placement, writes one history row per event and the emails it causes, or nothing.
* Bulk registration keeps the row-by-row meaning: row order gives references, a repeated row
  returns the first one's placement, links act on the step rows they were made for.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, update

from models import ActionToken, Approval, HistoryEntry, OutboxMessage, Placement
from states.bootstrap import App
from states.errors import AlreadyDecided
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.decision import _decide_with_instance, decide
from states.lifecycle.loading import COLLECTIONS, load_for_update
from states.lifecycle.machine import EVENTS, STATES
from states.lifecycle.transitions import apply_event_to_many_in
from tests.conftest import EXAMPLES, load_examples

AS_OF = datetime(2026, 12, 1, 8, tzinfo=UTC)
START, END = date(2027, 2, 1), date(2027, 7, 30)
MOMENTS = (
    datetime(2027, 1, 1, tzinfo=UTC),
    datetime(2027, 3, 1, tzinfo=UTC),
    datetime(2027, 8, 2, tzinfo=UTC),
    datetime(2027, 9, 1, tzinfo=UTC),
)
ROLES = (None, "home_manager", "host_contact", "participant")


def _step(**values: Any) -> SimpleNamespace:
    return SimpleNamespace(**values)


def _models(state: str) -> list[SimpleNamespace]:
    """Placements in ``state`` whose steps are waiting on nobody, one role, or two roles."""
    waiting_sets = ((), ("home_manager",), ("home_manager", "host_contact"))
    models = []
    for waiting in waiting_sets:
        roles = ("home_manager", "host_contact")
        models.append(
            SimpleNamespace(
                state=state,
                start_date=START,
                end_date=END,
                evaluation_due_on=date(2027, 8, 13),
                approval_round=1,
                approvals=[
                    _step(round=1, role=r, decision=None if r in waiting else "approved")
                    for r in roles
                ],
                acceptances=[
                    _step(role=r, voided_at=None, accepted_at=None if r in waiting else AS_OF)
                    for r in roles
                ],
                responses=[
                    _step(kind="evaluation", role=r, submitted_at=None if r in waiting else AS_OF)
                    for r in roles
                ],
            )
        )
    return models


def test_decide_answers_as_the_machine_does_for_every_state_event_and_guard() -> None:
    cases = 0
    for state, event, role, moment in itertools.product(STATES, EVENTS, ROLES, MOMENTS):
        for model in _models(state):
            expected = _decide_with_instance(model, event, role=role, as_of=moment)  # type: ignore[arg-type]
            assert model.state == state  # asking the machine leaves the model as it was
            assert decide(model, event, role=role, as_of=moment) == expected, (  # type: ignore[arg-type]
                state,
                event,
                role,
                moment,
            )
            cases += 1
    assert cases == len(STATES) * len(EVENTS) * len(ROLES) * len(MOMENTS) * 3


def _copies(count: int) -> list[Any]:
    [proposal] = load_proposals(EXAMPLES / "proposal.yaml")
    return [
        proposal.model_copy(
            update={
                "participant": proposal.participant.model_copy(
                    update={"email": f"batch{n}@example.org", "name": f"Batch {n}"}
                )
            }
        )
        for n in range(count)
    ]


def _count(app: App, model: type[Any], *where: Any) -> int:
    with app.reading() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_batch_loses_whole_when_one_placement_changed_underneath(any_app: App) -> None:
    load_examples(any_app)
    registered = register_proposals(
        any_app.uow(), proposals=_copies(3), actor="s", via="cli", draft=True, as_of=AS_OF
    )
    before = {
        m.__tablename__: _count(any_app, m)
        for m in (HistoryEntry, Approval, OutboxMessage, ActionToken)
    }
    uow = any_app.uow()
    with uow, pytest.raises(AlreadyDecided):
        session = uow.session
        placements = [load_for_update(session, r.reference) for r in registered]
        # Someone else's write lands between our read and our compare-and-set.
        session.execute(
            update(Placement)
            .where(Placement.id == placements[1].id)
            .values(version=Placement.version + 1)
            .execution_options(synchronize_session=False)
        )
        apply_event_to_many_in(
            uow, placements=placements, event="submit", actor="s", via="cli", as_of=AS_OF
        )
    after = {
        m.__tablename__: _count(any_app, m)
        for m in (HistoryEntry, Approval, OutboxMessage, ActionToken)
    }
    assert after == before
    assert _count(any_app, Placement, Placement.state == "proposal") == 3


def test_a_batch_submit_writes_what_single_events_write(any_app: App) -> None:
    load_examples(any_app)
    registered = register_proposals(
        any_app.uow(), proposals=_copies(4), actor="s", via="cli", draft=True, as_of=AS_OF
    )
    uow = any_app.uow()
    with uow:
        placements = [load_for_update(uow.session, r.reference) for r in registered]
        results = apply_event_to_many_in(
            uow, placements=placements, event="submit", actor="s", via="cli", as_of=AS_OF
        )
        uow.commit()
    assert [(r.reference, r.from_state, r.to_state, r.version) for r in results] == [
        (r.reference, "proposal", "manager_approval", 2) for r in registered
    ]
    assert all(len(r.outbox_ids) == 2 for r in results)  # both approvers are asked
    with any_app.reading() as uow:
        session = uow.session
        for result in results:
            placement = load_for_update(session, result.reference, lock=False)
            assert (placement.state, placement.version, placement.approval_round) == (
                "manager_approval",
                2,
                1,
            )
            history = session.scalars(
                select(HistoryEntry.event)
                .where(HistoryEntry.placement_id == placement.id)
                .order_by(HistoryEntry.version)
            ).all()
            assert history == ["register", "submit"]
            # Each link acts on its own approver's step of this placement.
            for message_id in result.outbox_ids:
                message = session.get(OutboxMessage, message_id)
                assert message is not None and message.token_id is not None
                token = session.get(ActionToken, message.token_id)
                assert token is not None
                approval = next(a for a in placement.approvals if a.id == token.subject_id)
                assert approval.person_id == token.person_id == message.person_id


def test_bulk_registration_keeps_row_order_and_returns_a_repeated_row(any_app: App) -> None:
    load_examples(any_app)
    first, second, third = _copies(3)
    rows = [first, second, first, third]
    registered = register_proposals(
        any_app.uow(), proposals=rows, actor="s", via="cli", as_of=AS_OF
    )
    assert [(r.reference, r.state, r.created) for r in registered] == [
        ("PL-2027-0001", "manager_approval", True),
        ("PL-2027-0002", "manager_approval", True),
        ("PL-2027-0001", "manager_approval", False),
        ("PL-2027-0003", "manager_approval", True),
    ]
    assert _count(any_app, Placement) == 3
    assert _count(any_app, HistoryEntry) == 6  # register + submit, each
    # The next file continues the numbering and finds what exists.
    again = register_proposals(
        any_app.uow(), proposals=[third, *_copies(4)[3:]], actor="s", via="cli", as_of=AS_OF
    )
    assert [(r.reference, r.created) for r in again] == [
        ("PL-2027-0003", False),
        ("PL-2027-0004", True),
    ]


def test_a_placement_loaded_for_one_event_holds_what_that_event_reads(app: App) -> None:
    load_examples(app)
    [registered] = register_proposals(
        app.uow(), proposals=_copies(1), actor="s", via="cli", as_of=AS_OF
    )
    with app.reading() as uow:
        placement = load_for_update(
            uow.session, registered.reference, lock=False, collections=("approvals",)
        )
        assert len(placement.approvals) == 2
        full = load_for_update(uow.session, registered.reference, lock=False)
        assert full is placement
        assert all(len(getattr(full, name)) >= 0 for name in COLLECTIONS)
