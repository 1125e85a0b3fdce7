"""Loading a placement for an event: the placement and its people in one query, and only the
step rows (approvals, acceptances, evaluation responses) the event reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import Placement, Programme
from states.errors import NotFound
from states.lifecycle.steps import AGREEMENT, APPROVAL, EVALUATION, MACHINE_DECISIONS, STEPS

COLLECTIONS = tuple(dict.fromkeys(step.collection for step in STEPS))

# The step rows an event reads or adds (its precheck, guard, effect and emails); an event not
# named here loads them all. Loading only these saves a query per collection on the hot path.
COLLECTIONS_FOR_EVENT: Mapping[str, tuple[str, ...]] = {
    # a person's act in a step reads that step's rows
    **{event: (step.collection,) for event, step in MACHINE_DECISIONS.items()},
    "revise": (),
    "submit": (APPROVAL.collection,),  # opens an approval round
    "amend": (AGREEMENT.collection,),  # a new version: the acceptances start again
    "end": (EVALUATION.collection,),  # opens the evaluation
    "close": (EVALUATION.collection,),
    "withdraw": (APPROVAL.collection, AGREEMENT.collection),  # everyone asked so far is told
    "cancel": (),
}
# …and those the state entered reads or adds (its ON_ENTER effect and emails), loaded once the
# machine has decided: the first of two approvals never reads the acceptances.
COLLECTIONS_FOR_ENTERING: Mapping[str, tuple[str, ...]] = {
    AGREEMENT.state: (AGREEMENT.collection,),
    "placement": (AGREEMENT.collection,),  # the agreement is final; every party is told
    EVALUATION.state: (EVALUATION.collection,),
}


# The placement with its programme, coordinator, people and organisations: what the machine's
# guards, the effects and the emails read of it.
WITH_PEOPLE = (
    joinedload(Placement.programme).joinedload(Programme.coordinator),
    joinedload(Placement.participant),
    joinedload(Placement.home_manager),
    joinedload(Placement.host_contact),
    joinedload(Placement.home_organisation),
    joinedload(Placement.host_organisation),
)


def _load_statement(lock: bool, joined: str | None) -> Select[Placement]:
    """The placement and its people in one query; ``joined`` names a collection joined into the
    same query (one round trip less than loading it after)."""
    statement = (
        select(Placement).where(Placement.reference == bindparam("reference")).options(*WITH_PEOPLE)
    )
    if joined is not None:
        statement = statement.options(joinedload(getattr(Placement, joined)))
    return statement.with_for_update(of=Placement) if lock else statement


# Built once: constructing a statement and its loader options costs more than running it.
_LOAD_STATEMENTS: Mapping[tuple[bool, str | None], Select[Placement]] = {
    (lock, joined): _load_statement(lock, joined)
    for lock in (False, True)
    for joined in (None, *COLLECTIONS)
}
_COLLECTION_STATEMENTS: Mapping[str, Select[Any]] = {
    step.collection: select(step.model)
    .where(step.model.placement_id == bindparam("placement_id"))
    .order_by(step.model.id)
    for step in STEPS
}


def load_collections(
    session: Session, placement: Placement, collections: tuple[str, ...] = COLLECTIONS
) -> None:
    """Load the step rows a placement does not hold yet, one plain query per collection
    (cheaper than a ``selectinload``, and a collection already loaded is left as it is)."""
    unloaded = inspect(placement).unloaded
    for name in collections:
        if name in unloaded:
            rows = session.scalars(
                _COLLECTION_STATEMENTS[name], {"placement_id": placement.id}
            ).all()
            set_committed_value(placement, name, list(rows))


def load_for_update(
    session: Session,
    reference: str,
    *,
    lock: bool = True,
    collections: tuple[str, ...] = COLLECTIONS,
) -> Placement:
    """The placement with everything the machine and the emails read; locked on PostgreSQL
    (SQLite's BEGIN IMMEDIATE already holds the database's write lock)."""
    lock = lock and session.get_bind().dialect.name != "sqlite"
    # Under FOR UPDATE, PostgreSQL re-reads only the locked row once the lock is granted; rows
    # joined from other tables stay as the query first saw them. Step rows another transaction
    # just changed must be read after the lock, by a query of their own.
    joined = collections[0] if collections and not lock else None
    placement = (
        session.scalars(_LOAD_STATEMENTS[lock, joined], {"reference": reference})
        .unique()
        .one_or_none()
    )
    if placement is None:
        raise NotFound(f"no placement with reference {reference}")
    load_collections(session, placement, collections)
    return placement
