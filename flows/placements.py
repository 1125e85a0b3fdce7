"""Coordinators act from the Prefect UI's run form: register a proposal, withdraw a placement.

The form (``flows.forms.ProposalForm``) has the columns of a proposals file; the row it makes
is validated by the intake's own model, so the form accepts what a file would.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger

from flows.context import Coordinators, current_app
from flows.coordinator import ACT_AS_OF, VIA, apply_as_coordinator
from flows.events import publish_events
from flows.forms import ProposalForm, acting_as_field, ask, reason_field, reference_field
from flows.refusals import refusals_fail


@flow(name="propose-placement", log_prints=False)
@refusals_fail
async def propose_placement(
    proposal: ProposalForm = ask("Proposal", "The placement proposed, field by field."),
    draft: bool = ask("As a draft", "Register without asking the managers yet.", False),
    acting_as: str = acting_as_field(),
) -> dict[str, Any]:
    """Register one placement proposal; unless a draft, ask its managers for approval."""
    from models.schemas import ProposalIn
    from states.intake.input_files import unflatten, validate_rows
    from states.intake.registration import register_proposals

    app = current_app()
    (checked,) = validate_rows(
        ProposalIn, [unflatten(proposal.as_row())], source="propose-placement", flat=True
    )
    coordinators = await asyncio.to_thread(Coordinators, app)
    actor = coordinators.actor(programme=checked.programme, acting_as=acting_as)
    registered = await asyncio.to_thread(
        register_proposals,
        app.uow(),
        proposals=[checked],
        actor=actor,
        via=VIA,
        draft=draft,
        source="propose-placement",
    )
    result = registered[0]
    verb = "registered" if result.created else "already registered"
    get_run_logger().info("%s %s: %s (by %s)", result.reference, verb, result.state, actor)
    await publish_events(app)
    return {"reference": result.reference, "state": result.state, "created": result.created}


@flow(name="withdraw-placement", log_prints=False)
@refusals_fail
async def withdraw_placement(
    reference: str = reference_field(),
    reason: str = reason_field("withdrawn"),
    acting_as: str = acting_as_field(),
    as_of: datetime | None = ACT_AS_OF,
) -> dict[str, Any]:
    """Withdraw a placement that has not started; everyone asked so far is told why."""
    return await apply_as_coordinator(
        reference=reference, event="withdraw", acting_as=acting_as, comment=reason, as_of=as_of
    )
