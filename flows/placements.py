"""Coordinators act from the Prefect UI's run form: register a proposal, withdraw a placement.

The parameters are the same pydantic models the CLI and files use, so the form validates what
the service validates.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, get_run_logger

from flows.context import current_app, flow_actor
from flows.events import publish_events
from models.schemas import ProposalIn


@flow(name="propose-placement", log_prints=False)
async def propose_placement(proposal: ProposalIn, draft: bool = False) -> dict[str, Any]:
    """Register one placement proposal; unless ``draft``, ask its managers for approval."""
    from states.intake.registration import register_proposals

    logger = get_run_logger()
    app = current_app()
    registered = await asyncio.to_thread(
        register_proposals,
        app.uow(),
        proposals=[proposal],
        actor=flow_actor(),
        via="flow",
        draft=draft,
        source="propose-placement",
    )
    result = registered[0]
    verb = "registered" if result.created else "already registered"
    logger.info("%s %s: %s", result.reference, verb, result.state)
    await publish_events(app)
    return {"reference": result.reference, "state": result.state, "created": result.created}


@flow(name="withdraw-placement", log_prints=False)
async def withdraw_placement(reference: str, reason: str) -> dict[str, Any]:
    """Withdraw a placement that has not started; everyone asked so far is told."""
    from states.lifecycle.transitions import apply_event

    logger = get_run_logger()
    app = current_app()
    result = await asyncio.to_thread(
        apply_event,
        app.uow(),
        reference=reference.strip(),
        event="withdraw",
        actor=flow_actor(),
        via="flow",
        comment=reason,
    )
    logger.info("%s withdrawn (was %s)", result.reference, result.from_state)
    await publish_events(app)
    return {"reference": result.reference, "state": result.to_state, "version": result.version}
