"""Claiming a unique key in the reminder log: what makes the sweep idempotent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    ReminderLog,
    table_of,
)

_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


ClaimKey = tuple[int, str, int, str, int]
"""(placement_id, step, person_id, kind, number): ReminderLog's unique key."""


def claim_many(session: Session, keys: Sequence[ClaimKey], *, at: datetime) -> set[ClaimKey]:
    """Insert the ReminderLog rows that do not exist yet, in one statement; return the keys
    this call inserted. On PostgreSQL a concurrent insert of the same key waits for the other
    transaction, then does nothing (keys go in a fixed order, so two sweeps cannot deadlock);
    on SQLite writers are serialised by BEGIN IMMEDIATE."""
    if not keys:
        return set()
    insert = _INSERTS[session.get_bind().dialect.name]
    table = table_of(ReminderLog)
    rows = session.execute(
        insert(table)
        .values(
            [
                {"placement_id": p, "step": s, "person_id": who, "kind": k, "number": n, "at": at}
                for p, s, who, k, n in keys
            ]
        )
        .on_conflict_do_nothing()
        .returning(
            table.c.placement_id, table.c.step, table.c.person_id, table.c.kind, table.c.number
        )
    ).all()
    return {(row[0], row[1], row[2], row[3], row[4]) for row in rows}


def claim(
    session: Session,
    *,
    placement_id: int,
    step: str,
    person_id: int,
    kind: str,
    number: int,
    at: datetime,
) -> bool:
    """``claim_many`` for one key: True if this call inserted it."""
    key = (placement_id, step, person_id, kind, number)
    return key in claim_many(session, [key], at=at)
