"""History rows as event payloads for ops, and the mark that they were published.

Framework-free: ``flows/events.py`` sends these to Prefect *after* the transactions that wrote
the history have committed, then marks them. A row stays unpublished until an emitter has
taken it, so nothing is lost while the Prefect API is down: the next publisher catches up.
Event ids are derived from (placement, version), so a row sent twice (a crash between sending
and marking) is the same event to the receiver.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from models import HistoryEntry, Organisation, Placement, Programme
from states.unit_of_work import UnitOfWork

EVENT_PREFIX = "mobility.placement."
EVENT_NAMESPACE = uuid.UUID("6f1c2a0e-5d0b-4b8e-9a57-1f1f7c0d4e21")


@dataclass(frozen=True)
class PlacementEvent:
    history_id: int
    id: uuid.UUID
    event: str
    occurred: datetime
    resource: dict[str, str]
    related: list[dict[str, str]]
    payload: dict[str, Any]


def placement_resource_id(reference: str) -> str:
    return f"{EVENT_PREFIX}{reference}"


def programme_resource_id(key: str) -> str:
    return f"mobility.programme.{key}"


def placement_resource_name(reference: str, host: str) -> str:
    """What the event feed shows for a placement: its reference and the host organisation."""
    return f"{reference} · {host}"


def _as_event(
    entry: HistoryEntry, reference: str, host: str, programme: Programme
) -> PlacementEvent:
    # No people's names, emails or comments: the event feed is for operations, not a second
    # archive; the host organisation is what ops and coordinators recognise a placement by.
    return PlacementEvent(
        history_id=entry.id,
        id=uuid.uuid5(EVENT_NAMESPACE, f"{reference}:{entry.version}"),
        event=f"{EVENT_PREFIX}{entry.event}",
        occurred=entry.at,
        resource={
            "prefect.resource.id": placement_resource_id(reference),
            "prefect.resource.name": placement_resource_name(reference, host),
        },
        related=[
            {
                "prefect.resource.id": programme_resource_id(programme.key),
                "prefect.resource.role": "programme",
                "prefect.resource.name": programme.name,
            }
        ],
        payload={
            "reference": reference,
            "event": entry.event,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "version": entry.version,
            "via": entry.via,
            "at": entry.at.isoformat(),
        },
    )


def unpublished(uow: UnitOfWork, *, limit: int = 500) -> list[PlacementEvent]:
    """The oldest history rows not yet published, as events (inside the caller's ``with``)."""
    rows = uow.session.execute(
        select(HistoryEntry, Placement.reference, Organisation.name, Programme)
        .join(Placement, Placement.id == HistoryEntry.placement_id)
        .join(Organisation, Organisation.id == Placement.host_organisation_id)
        .join(Programme, Programme.id == Placement.programme_id)
        .where(HistoryEntry.published_at.is_(None))
        .order_by(HistoryEntry.id)
        .limit(limit)
    ).all()
    return [
        _as_event(entry, reference, host, programme) for entry, reference, host, programme in rows
    ]


def mark_published(uow: UnitOfWork, *, history_ids: Sequence[int], at: datetime) -> int:
    """Set ``published_at`` on these rows (inside the caller's ``with``); returns how many."""
    if not history_ids:
        return 0
    result = uow.session.execute(
        update(HistoryEntry)
        .where(HistoryEntry.id.in_(list(history_ids)), HistoryEntry.published_at.is_(None))
        .values(published_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_unpublished(uow: UnitOfWork) -> int:
    return int(
        uow.session.scalar(
            select(func.count())
            .select_from(HistoryEntry)
            .where(HistoryEntry.published_at.is_(None))
        )
        or 0
    )
