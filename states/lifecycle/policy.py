"""Who gets which email when a placement changes: a table, not a chain of ifs. A business
rule, so it lives in the domain; ``notifications`` only renders and sends what is queued.

A rule matches an event and the state it led to; its audience names who receives a message of
their own, and its ``link`` names the step a recipient acts on through an emailed link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from models import Person, Placement
from states.lifecycle.steps import AGREEMENT, APPROVAL, EVALUATION, Step


@dataclass(frozen=True)
class Recipient:
    person: Person
    role: str
    subject_id: int | None = None
    """The approval, acceptance or evaluation response the recipient's link acts on."""


Audience = Callable[[Placement], Iterable[Recipient]]


def _roles(*roles: str) -> Audience:
    def select(placement: Placement) -> Iterable[Recipient]:
        return [Recipient(placement.person_for_role(role), role) for role in roles]

    return select


def pending_in(step: Step) -> Audience:
    """Whoever still has to act in ``step``, each with the row their link acts on."""

    def select(placement: Placement) -> Iterable[Recipient]:
        return [Recipient(row.person, row.role, row.id) for row in step.pending_rows(placement)]

    return select


def asked_in(step: Step) -> Audience:
    """Everyone asked in ``step`` as it stands, acted or not."""

    def select(placement: Placement) -> Iterable[Recipient]:
        return [Recipient(row.person, row.role, row.id) for row in step.current_rows(placement)]

    return select


def other_approvers(placement: Placement) -> Iterable[Recipient]:
    """The approvers of the current round besides the one who declined: those who approved
    and those still asked, whose links the decline has ended."""
    declined = APPROVAL.decisions["decline"]
    decliners = {
        row.person_id for row in APPROVAL.current_rows(placement) if row.decision == declined
    }
    return [
        Recipient(row.person, row.role, row.id)
        for row in APPROVAL.current_rows(placement)
        if row.person_id not in decliners
    ]


def asked_so_far(placement: Placement) -> Iterable[Recipient]:
    """Everyone the process has written to about this placement in its current round."""
    current = [
        Recipient(row.person, row.role)
        for step in (APPROVAL, AGREEMENT)
        for row in step.current_rows(placement)
    ]
    return [*_roles("participant", "coordinator")(placement), *current]


@dataclass(frozen=True)
class NotificationRule:
    event: str
    to_state: str | None
    template: str
    audience: Audience
    link: str | None = None
    """Purpose of the action token each recipient gets, or None for a notice without a link."""


RULES: tuple[NotificationRule, ...] = (
    NotificationRule(
        "submit", APPROVAL.state, APPROVAL.request, pending_in(APPROVAL), link=APPROVAL.purpose
    ),
    NotificationRule(
        "approve", "agreement", "decision_notice", _roles("participant", "coordinator")
    ),
    NotificationRule(
        "approve",
        AGREEMENT.state,
        AGREEMENT.request,
        pending_in(AGREEMENT),
        link=AGREEMENT.purpose,
    ),
    NotificationRule(
        "decline", "declined", "decision_notice", _roles("participant", "coordinator")
    ),
    NotificationRule("decline", "declined", "co_approver_declined", other_approvers),
    NotificationRule("request_changes", "proposal", "changes_requested", _roles("coordinator")),
    NotificationRule(
        "amend", AGREEMENT.state, AGREEMENT.request, pending_in(AGREEMENT), link=AGREEMENT.purpose
    ),
    NotificationRule("accept", "placement", "placement_confirmed", asked_in(AGREEMENT)),
    NotificationRule(
        "end",
        EVALUATION.state,
        EVALUATION.request,
        pending_in(EVALUATION),
        link=EVALUATION.purpose,
    ),
    NotificationRule(
        "answer", "completed", "completion_notice", _roles("participant", "coordinator")
    ),
    NotificationRule(
        "close", "completed", "completion_notice", _roles("participant", "coordinator")
    ),
    NotificationRule("withdraw", "withdrawn", "withdrawn_notice", asked_so_far),
    NotificationRule(
        "cancel",
        "cancelled",
        "cancelled_notice",
        _roles("participant", "home_manager", "host_contact", "coordinator"),
    ),
)


START_NOTICE_ROLES = ("participant", "host_contact")
"""Who gets the start notice a few business days before the start: the host prepares an
access card, an account and a desk; the participant knows whom to see on the first day."""

WELCOME_ROLES = ("participant",)
"""Who gets the welcome on the first day, where the programme sends one."""


def rules_for(event: str, to_state: str) -> list[NotificationRule]:
    return [r for r in RULES if r.event == event and r.to_state in (None, to_state)]


def recipients(rule: NotificationRule, placement: Placement) -> list[Recipient]:
    """The rule's audience, one entry per person (a person in two roles gets one message)."""
    seen: set[int] = set()
    unique = []
    for recipient in rule.audience(placement):
        if recipient.person.id not in seen:
            seen.add(recipient.person.id)
            unique.append(recipient)
    return unique
