"""Resending: fresh links by email for whoever still has to act in the current step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from models import (
    ActionToken,
)
from states.errors import TransitionRefused
from states.lifecycle.loading import load_for_update
from states.lifecycle.outbox import mint_link, queue_message
from states.lifecycle.policy import NotificationRule, pending_in, recipients
from states.lifecycle.refusals import refused
from states.lifecycle.steps import BY_STATE
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ResentLink:
    role: str
    person_name: str
    outbox_id: int


def resend_links(uow: UnitOfWork, *, reference: str, actor: str, now: datetime) -> list[ResentLink]:
    """Fresh links by email to whoever still has to act in the current step; their earlier
    links for that step die (revoked, reason 'resent'). Commits."""
    with uow:
        session = uow.session
        placement = load_for_update(session, reference)
        step = BY_STATE.get(placement.state)
        if step is None:
            raise refused(
                TransitionRefused, "nothing_to_resend", reference=reference, state=placement.state
            )
        purpose, template = step.purpose, step.request
        pending = recipients(
            NotificationRule("resend", None, template, pending_in(step)), placement
        )
        if not pending:
            raise refused(TransitionRefused, "nobody_left", reference=reference)
        resent = []
        for recipient in pending:
            session.execute(
                update(ActionToken)
                .where(
                    ActionToken.placement_id == placement.id,
                    ActionToken.person_id == recipient.person.id,
                    ActionToken.purpose == purpose,
                    ActionToken.used_at.is_(None),
                    ActionToken.revoked_at.is_(None),
                )
                .values(revoked_at=now, revoked_reason="resent")
                .execution_options(synchronize_session=False)
            )
            token = mint_link(
                uow, placement=placement, recipient=recipient, purpose=purpose, now=now
            )
            session.flush()
            message = queue_message(
                uow,
                kind=template,
                person=recipient.person,
                placement=placement,
                now=now,
                token=token,
                context={
                    "event": "resend",
                    "from_state": placement.state,
                    "to_state": placement.state,
                    "comment": None,
                    "role": None,
                    "actor": actor,
                    "recipient_role": recipient.role,
                    "resent": True,
                },
            )
            session.flush()
            resent.append(ResentLink(recipient.role, recipient.person.name, message.id))
        uow.commit()
    return resent
