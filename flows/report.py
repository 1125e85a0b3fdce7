"""``programme-report``: a programme's follow-up published as Prefect artifacts.

Counts per state and the placements waiting longest (with who holds them) as tables, and the
full follow-up (``reporting.markdown``) as Markdown.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from flows.context import Coordinators, aware, current_app
from flows.forms import moment_field, programme_field
from flows.refusals import refusals_fail
from models.text import markdown_text
from reporting.overview import overview


def artifact_key(programme: str, what: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{programme}-{what}".lower()).strip("-")


@flow(name="programme-report", log_prints=False)
@refusals_fail
async def programme_report(
    programme: str = programme_field(),
    as_of: datetime | None = moment_field(
        "The follow-up as it stood at this moment, from history."
    ),
) -> dict[str, Any]:
    """Publish the follow-up of ``programme`` (its key) as table and Markdown artifacts: as it
    stands now, or as it stood at ``as_of`` (from history; a naive time is read in the
    programme's time zone)."""
    logger = get_run_logger()
    app = current_app()
    moment = aware(as_of, app) if as_of is not None else None
    programme = programme.strip()
    await asyncio.to_thread(lambda: Coordinators(app).known(programme))
    data = await asyncio.to_thread(overview, app, programme, moment)
    states = [{"state": s, "placements": n} for s, n in data["states"].items()]
    await acreate_table_artifact(
        key=artifact_key(programme, "states"),
        table=states,
        description=f"Placements per state in {markdown_text(programme)}",
    )
    waiting = [
        {
            "reference": c["reference"],
            "state": c["state"],
            "waiting_since": c["waiting_since"],
            "business_days": c["business_days"],
            "waiting_for": "; ".join(f"{w['name']} ({w['role']})" for w in c["waiting_for"]),
        }
        for c in data["waiting_longest"]
    ]
    await acreate_table_artifact(
        key=artifact_key(programme, "waiting"),
        table=waiting,
        description=f"Placements in {markdown_text(programme)} waiting longest, and who holds them",
    )
    await acreate_markdown_artifact(
        key=artifact_key(programme, "follow-up"),
        markdown=data["markdown"],
        description=f"Follow-up of {markdown_text(programme)}",
    )
    logger.info(
        "%s: %s; %d waiting",
        programme,
        ", ".join(f"{s['state']} {s['placements']}" for s in states) or "no placements",
        len(waiting),
    )
    return {k: v for k, v in data.items() if k != "markdown"}
