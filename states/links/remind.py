"""Reminding now: the coordinator asks whoever still has to act in the current step today,
instead of waiting for the sweep's next reminder. Their live link is reused (a fresh one if it
expired), so nothing they were sent before stops working; the state does not change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ActionToken, Placement, ReminderLog
from states.errors import TransitionRefused
from states.lifecycle.loading import load_for_update
from states.lifecycle.outbox import mint_link, queue_message
from states.lifecycle.policy import NotificationRule, Recipient, pending_in, recipients
from states.lifecycle.refusals import refused
from states.lifecycle.steps import BY_STATE, REMINDER_KINDS, REMINDER_ON_REQUEST, Step
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Reminded:
    role: str
    person_name: str
    outbox_id: int


def remind_now(
    uow: UnitOfWork, *, reference: str, actor: str, via: str, now: datetime
) -> list[Reminded]:
    """A reminder by email, now, to each person who still has to act in the placement's
    current step; each is logged with the sweep's reminders (one count per person). Commits."""
    with uow:
        session = uow.session
        placement = load_for_update(session, reference)
        step = BY_STATE.get(placement.state)
        if step is None or step.reminder is None:
            raise refused(
                TransitionRefused, "nothing_to_remind", reference=reference, state=placement.state
            )
        pending = recipients(
            NotificationRule("remind", None, step.reminder, pending_in(step)), placement
        )
        if not pending:
            raise refused(TransitionRefused, "nobody_left", reference=reference)
        reminded = [
            _remind(uow, placement=placement, step=step, recipient=r, actor=actor, via=via, now=now)
            for r in pending
        ]
        uow.commit()
    return reminded


def _remind(
    uow: UnitOfWork,
    *,
    placement: Placement,
    step: Step,
    recipient: Recipient,
    actor: str,
    via: str,
    now: datetime,
) -> Reminded:
    """Log and queue one reminder, with the recipient's live link (a fresh one if expired)."""
    session = uow.session
    person = recipient.person
    key = step.key(placement)
    earlier = session.execute(
        select(ReminderLog.kind, func.count())
        .where(
            ReminderLog.placement_id == placement.id,
            ReminderLog.step == key,
            ReminderLog.person_id == person.id,
            ReminderLog.kind.in_(REMINDER_KINDS),
        )
        .group_by(ReminderLog.kind)
    ).all()
    counts = {kind: int(n) for kind, n in earlier}
    session.add(
        ReminderLog(
            placement_id=placement.id,
            step=key,
            person_id=person.id,
            kind=REMINDER_ON_REQUEST,
            number=counts.get(REMINDER_ON_REQUEST, 0) + 1,
            at=now,
        )
    )
    token = _live_link(session, placement=placement, step=step, recipient=recipient, now=now)
    if token is None:
        token = mint_link(
            uow, placement=placement, recipient=recipient, purpose=step.purpose, now=now
        )
        session.flush()
    message = queue_message(
        uow,
        kind=str(step.reminder),
        person=person,
        placement=placement,
        now=now,
        token=token,
        context={
            "number": sum(counts.values()) + 1,
            "recipient_role": recipient.role,
            "actor": actor,
            "via": via,
        },
    )
    session.flush()
    return Reminded(recipient.role, person.name, message.id)


def _live_link(
    session: Session, *, placement: Placement, step: Step, recipient: Recipient, now: datetime
) -> ActionToken | None:
    """The recipient's newest link for this step that can still act."""
    return session.scalars(
        select(ActionToken)
        .where(
            ActionToken.placement_id == placement.id,
            ActionToken.person_id == recipient.person.id,
            ActionToken.subject_id == recipient.subject_id,
            ActionToken.purpose == step.purpose,
            ActionToken.used_at.is_(None),
            ActionToken.revoked_at.is_(None),
            ActionToken.expires_at > now,
        )
        .order_by(ActionToken.id.desc())
        .limit(1)
    ).one_or_none()
