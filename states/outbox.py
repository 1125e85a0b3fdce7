"""Queue emails in the transaction that causes them; delivery happens later, elsewhere."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from models import ActionToken, OutboxMessage, Person, Placement
from notifications.rules import Recipient, recipients, rules_for
from states.unit_of_work import UnitOfWork


def language_for(person: Person, placement: Placement | None, fallback: str = "sv") -> str:
    if person.language in ("sv", "en"):
        return person.language
    if placement is not None:
        return placement.programme.language
    return fallback


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


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
        message_id=new_message_id(uow.config.message_id_domain),
        kind=kind,
        placement_id=placement.id if placement is not None else None,
        person_id=person.id,
        to_email=person.email,
        to_name=person.name,
        language=language or language_for(person, placement),
        token_id=token.id if token is not None else None,
        context=context or {},
        dedupe_key=dedupe_key,
        status="pending",
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(message)
    return message


def mint_link(
    uow: UnitOfWork, *, placement: Placement, recipient: Recipient, purpose: str, now: datetime
) -> ActionToken:
    if recipient.subject_id is None:
        raise ValueError(f"a {purpose} link needs the step it acts on")
    token = uow.config.minter.mint(
        placement_id=placement.id,
        person_id=recipient.person.id,
        purpose=purpose,
        subject_id=recipient.subject_id,
        now=now,
    )
    uow.session.add(token)
    return token


def queue_for_transition(
    uow: UnitOfWork,
    *,
    placement: Placement,
    event: str,
    to_state: str,
    now: datetime,
    context: dict[str, Any],
) -> tuple[int, ...]:
    """Queue what the notification rules say this transition causes; return the outbox ids."""
    rules = rules_for(event, to_state)
    if not rules:
        return ()
    session = uow.session
    session.flush()  # the new approvals, acceptances and responses need their ids for links
    planned: list[tuple[str, Recipient, ActionToken | None]] = []
    for rule in rules:
        for recipient in recipients(rule, placement):
            token = None
            if rule.link is not None:
                token = mint_link(
                    uow, placement=placement, recipient=recipient, purpose=rule.link, now=now
                )
            planned.append((rule.template, recipient, token))
    if any(token is not None for _, _, token in planned):
        session.flush()
    messages = [
        queue_message(
            uow,
            kind=template,
            person=recipient.person,
            placement=placement,
            now=now,
            context={**context, "recipient_role": recipient.role},
            token=token,
        )
        for template, recipient, token in planned
    ]
    session.flush()
    return tuple(m.id for m in messages)
