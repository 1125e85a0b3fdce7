"""Who gets which email when a placement changes: a table, not a chain of ifs.

A rule matches an event and the state it led to; its audience names who receives a message of
their own, and its ``link`` names the step a recipient acts on through an emailed link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from models import Person, Placement


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


def pending_approvers(placement: Placement) -> Iterable[Recipient]:
    return [
        Recipient(a.person, a.role, a.id)
        for a in placement.approvals
        if a.round == placement.approval_round and a.decision is None
    ]


def pending_parties(placement: Placement) -> Iterable[Recipient]:
    return [
        Recipient(a.person, a.role, a.id)
        for a in placement.acceptances
        if a.voided_at is None and a.accepted_at is None
    ]


def all_parties(placement: Placement) -> Iterable[Recipient]:
    return [Recipient(a.person, a.role, a.id) for a in placement.acceptances if a.voided_at is None]


def pending_respondents(placement: Placement) -> Iterable[Recipient]:
    return [
        Recipient(r.person, r.role, r.id)
        for r in placement.responses
        if r.kind == "evaluation" and r.submitted_at is None
    ]


def asked_so_far(placement: Placement) -> Iterable[Recipient]:
    """Everyone the process has written to about this placement in its current round."""
    current = [
        Recipient(a.person, a.role)
        for a in placement.approvals
        if a.round == placement.approval_round
    ]
    current += [Recipient(a.person, a.role) for a in placement.acceptances if a.voided_at is None]
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
        "submit", "manager_approval", "approval_request", pending_approvers, link="approval"
    ),
    NotificationRule(
        "approve", "agreement", "decision_notice", _roles("participant", "coordinator")
    ),
    NotificationRule(
        "approve", "agreement", "agreement_request", pending_parties, link="agreement"
    ),
    NotificationRule(
        "decline", "declined", "decision_notice", _roles("participant", "coordinator")
    ),
    NotificationRule("request_changes", "proposal", "changes_requested", _roles("coordinator")),
    NotificationRule("amend", "agreement", "agreement_request", pending_parties, link="agreement"),
    NotificationRule("accept", "placement", "placement_confirmed", all_parties),
    NotificationRule(
        "end", "evaluation", "evaluation_request", pending_respondents, link="evaluation"
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
