"""Escalation: one digest per coordinator listing the cases that waited past the programme's
threshold and were not escalated before."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from models import (
    Person,
)
from states.business_days import Moment
from states.calendar.batches import (
    SweepReport,
    UowFactory,
)
from states.calendar.claims import claim_many
from states.lifecycle.outbox import queue_message
from states.lifecycle.waiting import Case


def escalate(
    uow_factory: UowFactory, moment: Moment, report: SweepReport, cases: dict[tuple[int, str], Case]
) -> None:
    """One digest per coordinator listing the cases not escalated before; each case is claimed
    in the digest's own transaction, in a fixed order, so concurrent sweeps split nothing."""
    by_coordinator: dict[int, list[Case]] = defaultdict(list)
    for key in sorted(cases):
        by_coordinator[cases[key].coordinator_id].append(cases[key])
    for coordinator_id, waiting in sorted(by_coordinator.items()):
        with uow_factory() as uow:
            session = uow.session
            claimed = claim_many(
                session,
                [(c.placement_id, c.step_key, coordinator_id, "escalation", 1) for c in waiting],
                at=moment.as_of,
            )
            won = [
                c
                for c in waiting
                if (c.placement_id, c.step_key, coordinator_id, "escalation", 1) in claimed
            ]
            if won:
                coordinator = session.get(Person, coordinator_id)
                assert coordinator is not None
                fingerprint = hashlib.sha256(
                    "|".join(f"{c.placement_id}:{c.step_key}" for c in won).encode()
                ).hexdigest()[:32]
                queue_message(
                    uow,
                    kind="escalation_digest",
                    person=coordinator,
                    placement=None,
                    now=moment.as_of,
                    context={"cases": [c.as_context() for c in won]},
                    dedupe_key=f"escalation_digest:{coordinator_id}:{fingerprint}",
                    language=coordinator.language or won[0].language,
                )
                report.add("escalation_digest")
                report.add("escalated_cases", len(won))
            uow.commit()
