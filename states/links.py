"""Whether an emailed link still works, and if not, why: the pages and the delivery both ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import (
    ActionToken,
    AgreementAcceptance,
    Approval,
    EvaluationResponse,
    Placement,
)

FINAL_STATES = frozenset({"completed", "declined", "withdrawn", "cancelled"})


@dataclass(frozen=True)
class LinkStatus:
    """``reason`` is None while the link can act; otherwise a code the pages put in words:
    used, decided_by_you, decided_by_others, agreement_changed, expired, revoked, step_over,
    or the placement's final state (withdrawn, declined, cancelled, completed)."""

    reason: str | None
    at: datetime | None = None
    detail: str | None = None

    @property
    def live(self) -> bool:
        return self.reason is None


LIVE = LinkStatus(None)


def _approval_status(session: Session, token: ActionToken, placement: Placement) -> LinkStatus:
    approval = session.get(Approval, token.subject_id)
    if approval is None or approval.placement_id != placement.id:
        return LinkStatus("step_over")
    if approval.decision is not None:
        return LinkStatus("decided_by_you", approval.decided_at, approval.decision)
    if approval.round != placement.approval_round or placement.state != "manager_approval":
        return LinkStatus("decided_by_others", placement.state_changed_at, placement.state)
    return LIVE


def _agreement_status(session: Session, token: ActionToken, placement: Placement) -> LinkStatus:
    acceptance = session.get(AgreementAcceptance, token.subject_id)
    if acceptance is None or acceptance.placement_id != placement.id:
        return LinkStatus("step_over")
    if acceptance.accepted_at is not None:
        return LinkStatus("decided_by_you", acceptance.accepted_at, "accepted")
    if acceptance.voided_at is not None:
        return LinkStatus("agreement_changed", acceptance.voided_at)
    if placement.state != "agreement":
        return LinkStatus("decided_by_others", placement.state_changed_at, placement.state)
    return LIVE


def _response_status(session: Session, token: ActionToken, placement: Placement) -> LinkStatus:
    response = session.get(EvaluationResponse, token.subject_id)
    if response is None or response.placement_id != placement.id:
        return LinkStatus("step_over")
    if response.submitted_at is not None:
        return LinkStatus("decided_by_you", response.submitted_at, "answered")
    if response.kind == "evaluation" and placement.state != "evaluation":
        return LinkStatus("step_over", placement.state_changed_at, placement.state)
    if response.kind == "checkin" and placement.state != "placement":
        return LinkStatus("step_over", placement.state_changed_at, placement.state)
    return LIVE


STEP_CHECKS = {
    "approval": _approval_status,
    "agreement": _agreement_status,
    "evaluation": _response_status,
    "checkin": _response_status,
}


def link_status(session: Session, token: ActionToken, *, now: datetime) -> LinkStatus:
    """Why the link of ``token`` can no longer act, or ``LIVE``. Order matters: what the person
    did themselves is told before what happened to the placement."""
    placement = session.get(Placement, token.placement_id)
    if placement is None:
        return LinkStatus("step_over")
    step = STEP_CHECKS[token.purpose](session, token, placement)
    if step.reason == "decided_by_you":
        return step
    if token.used_at is not None:
        return LinkStatus("used", token.used_at)
    if placement.state in FINAL_STATES and placement.state != "completed":
        return LinkStatus(placement.state, placement.state_changed_at)
    if not step.live:
        return step
    if token.revoked_at is not None:
        return LinkStatus("revoked", token.revoked_at, token.revoked_reason)
    if token.expires_at <= now:
        return LinkStatus("expired", token.expires_at)
    return LIVE
