"""Whether an emailed link still works, and if not, why: the pages and the delivery both ask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    ActionToken,
    Placement,
)
from states.lifecycle.machine import FINAL_STATES
from states.lifecycle.steps import BY_PURPOSE


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


def _step_status(token: Any, placement: Any, row: Any) -> LinkStatus:
    """Where the step of the link stands for its person: done by them, over, or open."""
    step = BY_PURPOSE[token.purpose]
    if row is None or row.placement_id != placement.id:
        return LinkStatus("step_over")
    if not step.is_open(row):
        return LinkStatus("decided_by_you", getattr(row, step.acted_at), step.outcome(row))
    if not step.is_current(row, placement):
        if step.superseded_at is not None:
            return LinkStatus(step.superseded, getattr(row, step.superseded_at))
        return LinkStatus(step.superseded, placement.state_changed_at, placement.state)
    if placement.state != step.state:
        return LinkStatus(step.moved_on, placement.state_changed_at, placement.state)
    return LIVE


def status_of(token: Any, placement: Any, row: Any, *, now: datetime) -> LinkStatus:
    """Why the link of ``token`` can no longer act, or ``LIVE``, from what is read already:
    its placement and the step row it acts on (None: gone). Records or ORM objects alike.
    Order matters: what the person did themselves is told before what happened to the
    placement."""
    step = _step_status(token, placement, row)
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


def link_status(session: Session, token: ActionToken, *, now: datetime) -> LinkStatus:
    """``status_of`` for a token row of the session (its placement and step row read by id)."""
    placement = session.get(Placement, token.placement_id)
    if placement is None:
        return LinkStatus("step_over")
    row = session.get(BY_PURPOSE[token.purpose].model, token.subject_id)
    return status_of(token, placement, row, now=now)


def link_statuses(
    session: Session, token_ids: Iterable[int], *, now: datetime
) -> Mapping[int, LinkStatus]:
    """``link_status`` of many tokens at once (a delivery batch): the tokens with their
    placements in one query, then each step's rows in one query; a token that no longer exists
    is missing from the answer. The tokens stay in the session for the caller."""
    rows = session.execute(
        select(ActionToken, Placement)
        .outerjoin(Placement, Placement.id == ActionToken.placement_id)
        .where(ActionToken.id.in_(sorted(set(token_ids))))
    ).all()
    wanted: dict[Any, set[int]] = defaultdict(set)
    for token, _placement in rows:
        wanted[BY_PURPOSE[token.purpose].model].add(token.subject_id)
    step_rows = {
        (model, row.id): row
        for model, ids in wanted.items()
        for row in session.scalars(select(model).where(model.id.in_(sorted(ids))))
    }
    statuses: dict[int, LinkStatus] = {}
    for token, placement in rows:
        if placement is None:
            statuses[token.id] = LinkStatus("step_over")
            continue
        row = step_rows.get((BY_PURPOSE[token.purpose].model, token.subject_id))
        statuses[token.id] = status_of(token, placement, row, now=now)
    return statuses
