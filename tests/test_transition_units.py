"""``apply_event`` runs on a connection-only unit of work (issue 15) and keeps its guarantees.

* No ORM session is opened for an event applied by reference: the placement is read as records
  and every write is a plain statement on the unit's connection.
* A refusal raised after the event's first writes leaves nothing behind: no history row, no
  outbox row, no step row changed, the version as it was.
* The unit's session, made only when asked for, joins the connection's transaction: what it
  flushes commits with the unit, or rolls back with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AgreementDocument, Approval, HistoryEntry, OutboxMessage, Person, Placement
from states.bootstrap import App
from states.errors import AlreadyDecided
from states.lifecycle import writing
from states.lifecycle.loading import COLLECTIONS
from states.lifecycle.records import load_record
from states.lifecycle.refusals import refused
from states.lifecycle.transitions import apply_event, apply_event_in
from states.unit_of_work import OnConnection
from tests.conftest import load_examples, propose_example

AS_OF = datetime(2026, 12, 2, 9, tzinfo=UTC)


@pytest.fixture
def proposed(any_app: App) -> tuple[App, str]:
    load_examples(any_app)
    return any_app, propose_example(any_app)


@pytest.fixture
def sessions_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Session]]:
    made: list[Session] = []
    original = Session.__init__

    def counting(self: Session, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Session, "__init__", counting)
    yield made


def _approve(app: App, ref: str, role: str) -> Any:
    return apply_event(
        app.uow(), reference=ref, event="approve", role=role, actor="t", via="link", as_of=AS_OF
    )


def _counts(app: App, ref: str) -> dict[str, Any]:
    with app.reading() as uow:
        session = uow.session
        placement_id, version, state = session.execute(
            select(Placement.id, Placement.version, Placement.state).where(
                Placement.reference == ref
            )
        ).one()

        def count(model: Any) -> int:
            query = select(func.count()).select_from(model)
            return int(session.scalar(query.where(model.placement_id == placement_id)) or 0)

        decided = session.scalar(
            select(func.count())
            .select_from(Approval)
            .where(Approval.placement_id == placement_id, Approval.decision.is_not(None))
        )
        return {
            "version": version,
            "state": state,
            "history": count(HistoryEntry),
            "outbox": count(OutboxMessage),
            "documents": count(AgreementDocument),
            "decided": decided,
        }


def test_an_event_by_reference_opens_no_orm_session(
    proposed: tuple[App, str], sessions_made: list[Session]
) -> None:
    app, ref = proposed
    first = _approve(app, ref, "home_manager")
    second = _approve(app, ref, "host_contact")
    assert sessions_made == []
    assert (first.to_state, second.to_state) == ("manager_approval", "agreement")
    assert len(second.outbox_ids) == 5
    after = _counts(app, ref)
    assert after["state"] == "agreement" and after["documents"] == 1 and after["decided"] == 2


def test_a_refusal_after_the_first_writes_leaves_nothing(
    proposed: tuple[App, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, ref = proposed
    _approve(app, ref, "home_manager")
    before = _counts(app, ref)
    written: list[str] = []
    original = writing._insert_new_steps

    def then_refuse(*args: Any) -> None:
        original(*args)  # the decision, the document, the history and the acceptances
        written.append("steps")
        raise refused(AlreadyDecided, "decided_at_the_same_moment", reference=ref)

    monkeypatch.setattr(writing, "_insert_new_steps", then_refuse)
    with pytest.raises(AlreadyDecided):
        _approve(app, ref, "host_contact")
    assert written == ["steps"]
    assert _counts(app, ref) == before  # version, state, history, outbox, document, decisions

    monkeypatch.setattr(writing, "_insert_new_steps", original)
    assert _approve(app, ref, "host_contact").to_state == "agreement"


def test_a_stale_record_loses_the_compare_and_set_on_a_connection_unit(
    proposed: tuple[App, str],
) -> None:
    app, ref = proposed
    with app.uow().on_connection() as unit:
        stale = load_record(unit.connection, ref, lock=False, collections=COLLECTIONS)
    _approve(app, ref, "home_manager")  # the version moves on after the read
    before = _counts(app, ref)
    link: dict[str, Any] = {"actor": "t", "via": "link", "as_of": AS_OF}
    with app.uow().on_connection() as unit, pytest.raises(AlreadyDecided, match="same moment"):
        apply_event_in(
            unit, reference=ref, event="approve", role="host_contact", **link, placement=stale
        )
    assert _counts(app, ref) == before


def _person(email: str) -> Person:
    return Person(email=email, name="Unit Test", language="en")


def _people(app: App, email: str) -> int:
    with app.reading() as uow:
        return int(uow.session.scalar(select(func.count()).where(Person.email == email)) or 0)


def test_the_units_session_commits_and_rolls_back_with_its_connection(any_app: App) -> None:
    with any_app.uow().on_connection() as unit:
        assert isinstance(unit, OnConnection)
        unit.session.add(_person("kept@example.org"))
        unit.commit()
    with any_app.uow().on_connection() as unit:
        unit.session.add(_person("dropped@example.org"))
        unit.session.flush()  # written in the transaction, never committed
    with any_app.uow().on_connection() as unit:
        unit.session.add(_person("rolled@example.org"))
        unit.rollback()
        unit.commit()
    assert _people(any_app, "kept@example.org") == 1
    assert _people(any_app, "dropped@example.org") == 0
    assert _people(any_app, "rolled@example.org") == 0


def test_a_savepoint_undoes_only_itself(any_app: App) -> None:
    table = Person.__table__
    with any_app.uow().on_connection() as unit:
        unit.connection.execute(table.insert(), {"email": "outer@example.org", "name": "O"})
        with pytest.raises(RuntimeError), unit.savepoint():
            unit.connection.execute(table.insert(), {"email": "inner@example.org", "name": "I"})
            raise RuntimeError("the item fails")
        unit.commit()
    assert _people(any_app, "outer@example.org") == 1
    assert _people(any_app, "inner@example.org") == 0


def test_a_unit_not_open_says_so(app: App) -> None:
    unit = app.uow().on_connection()
    with pytest.raises(RuntimeError, match="not open"):
        unit.connection  # noqa: B018
