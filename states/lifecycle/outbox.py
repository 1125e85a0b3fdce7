"""Queue emails in the transaction that causes them; delivery happens later, elsewhere."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, insert

from models import ActionToken, OutboxMessage, Person, Placement, table_of
from models.ids import IdReservations
from states.lifecycle.policy import Recipient, recipients, rules_for
from states.unit_of_work import UnitOfWork


def language_for(person: Person, placement: Placement | None, fallback: str = "sv") -> str:
    if person.language in ("sv", "en"):
        return person.language
    if placement is not None:
        return placement.programme.language
    return fallback


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def message_values(
    uow: UnitOfWork,
    *,
    kind: str,
    person: Person,
    placement: Placement | None,
    now: datetime,
    context: dict[str, Any] | None = None,
    token_id: int | None = None,
    dedupe_key: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The columns of one outbox row."""
    return {
        "message_id": new_message_id(uow.config.message_id_domain),
        "kind": kind,
        "placement_id": placement.id if placement is not None else None,
        "person_id": person.id,
        "to_email": person.email,
        "to_name": person.name,
        "language": language or language_for(person, placement),
        "token_id": token_id,
        "context": context or {},
        "dedupe_key": dedupe_key,
        "status": "pending",
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_message(
    uow: UnitOfWork,
    *,
    kind: str,
    person: Person,
    placement: Placement | None,
    now: datetime,
    context: dict[str, Any] | None = None,
    token: ActionToken | None = None,
    dedupe_key: str | None = None,
    language: str | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        **message_values(
            uow,
            kind=kind,
            person=person,
            placement=placement,
            now=now,
            context=context,
            token_id=token.id if token is not None else None,
            dedupe_key=dedupe_key,
            language=language,
        )
    )
    uow.session.add(message)
    return message


def _token_values(
    uow: UnitOfWork, *, placement: Placement, recipient: Recipient, purpose: str, now: datetime
) -> dict[str, Any]:
    if recipient.subject_id is None:
        raise ValueError(f"a {purpose} link needs the step it acts on")
    return uow.config.minter.values(
        placement_id=placement.id,
        person_id=recipient.person.id,
        purpose=purpose,
        subject_id=recipient.subject_id,
        now=now,
    )


def mint_link(
    uow: UnitOfWork, *, placement: Placement, recipient: Recipient, purpose: str, now: datetime
) -> ActionToken:
    token = ActionToken(
        **_token_values(uow, placement=placement, recipient=recipient, purpose=purpose, now=now)
    )
    uow.session.add(token)
    return token


@dataclass(frozen=True)
class Caused:
    """A transition that happened, as the notification rules read it."""

    placement: Placement
    event: str
    to_state: str
    now: datetime
    context: dict[str, Any]


def _insert_ids(ids: IdReservations, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows; their ids in the rows' order.

    One row: one INSERT … RETURNING, unless its id costs no statement. Many: their ids
    reserved first, the rows inserted with them in a plain executemany (``models.ids``): an
    executemany with RETURNING is sent as huge multi-row statements that psycopg re-parses in
    Python for every page."""
    if not rows:
        return []
    if len(rows) == 1 and not ids.counting:
        return [ids.connection.execute(_returning_id(table), rows[0]).scalar_one()]
    written = ids.insert(table, rows)
    return [int(row["id"]) for row in written]


@lru_cache(maxsize=8)
def _returning_id(table: Table) -> Insert:
    """Built once per table: building the statement costs more than running it."""
    return insert(table).returning(table.c.id)


def queue_for_transitions(
    uow: UnitOfWork, ids: IdReservations, caused: Sequence[Caused]
) -> list[tuple[int, ...]]:
    """Queue what the notification rules say these transitions cause, with one INSERT for all
    their tokens and one for all their messages (their ids from ``ids``); return the outbox
    ids of each transition.

    The step rows the links act on (approvals, acceptances, responses) must be flushed."""
    planned: list[tuple[int, str, Recipient, str | None]] = []
    for number, item in enumerate(caused):
        for rule in rules_for(item.event, item.to_state):
            for recipient in recipients(rule, item.placement):
                planned.append((number, rule.template, recipient, rule.link))
    if not planned:
        return [() for _ in caused]
    token_rows = [
        _token_values(
            uow,
            placement=caused[number].placement,
            recipient=recipient,
            purpose=link,
            now=caused[number].now,
        )
        for number, _, recipient, link in planned
        if link is not None
    ]
    token_ids = iter(_insert_ids(ids, table_of(ActionToken), token_rows))
    message_rows = []
    for number, template, recipient, link in planned:
        item = caused[number]
        message_rows.append(
            message_values(
                uow,
                kind=template,
                person=recipient.person,
                placement=item.placement,
                now=item.now,
                context={**item.context, "recipient_role": recipient.role},
                token_id=next(token_ids) if link is not None else None,
            )
        )
    message_ids = _insert_ids(ids, table_of(OutboxMessage), message_rows)
    per_transition: list[list[int]] = [[] for _ in caused]
    for (number, _, _, _), message_id in zip(planned, message_ids, strict=True):
        per_transition[number].append(message_id)
    return [tuple(ids) for ids in per_transition]
