"""``programme-report``: a programme's follow-up published as Prefect artifacts.

Counts per state and the placements waiting longest (with who holds them) as tables, the full
follow-up (``reporting.markdown``) as Markdown, and the report's charts as Markdown images.
The waiting table is the one the sweep publishes too (``publish_overdue``): under one key per
programme, so the latest is one click away from the Artifacts page.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from flows.context import Coordinators, aware, current_app
from flows.forms import moment_field, programme_field
from flows.refusals import refusals_fail
from models.text import markdown_text
from reporting.overview import overview
from states.bootstrap import App
from states.glossary import words

OVERDUE_LIMIT = 50
"""Rows in the overdue table: the longest waits of a programme, oldest first."""


def artifact_key(programme: str, what: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{programme}-{what}".lower()).strip("-")


def overdue_rows(waiting: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``states.followup.waiting`` cases as table rows, in the glossary's English words."""
    en = words("en")
    return [
        {
            "placement": case["reference"],
            "state": en.state_title(case["state"]),
            "waiting since": case["waiting_since"],
            "business days": case["business_days"],
            "waiting for": "; ".join(
                f"{w['name']} ({en.role_title(w['role']).lower()})" for w in case["waiting_for"]
            ),
        }
        for case in waiting
    ]


async def publish_overdue_table(programme: str, waiting: list[dict[str, Any]], when: str) -> None:
    await acreate_table_artifact(
        key=artifact_key(programme, "overdue"),
        table=overdue_rows(waiting),
        description=f"Placements in {markdown_text(programme)} waiting longest and who holds "
        f"each, {when}",
    )


async def publish_overdue(app: App, moment: datetime) -> int:
    """The sweep's table per programme: who holds each waiting placement, since when, how many
    business days; returns how many programmes were published."""
    from states.followup.waiting import waiting_longest

    def read() -> dict[str, list[dict[str, Any]]]:
        with app.reading() as uow:
            return {
                key: waiting_longest(uow, programme=key, as_of=moment, limit=OVERDUE_LIMIT)
                for key in Coordinators(app).programmes
            }

    by_programme = await asyncio.to_thread(read)
    for programme, waiting in by_programme.items():
        await publish_overdue_table(programme, waiting, f"at the sweep of {moment:%Y-%m-%d %H:%M}")
    return len(by_programme)


def charts_markdown(programme: str, charts: Mapping[str, bytes]) -> str:
    """The charts as Markdown images with the PNG inline (a data: URI): the artifact needs no
    file server and shows what the report's files show."""
    return "\n\n".join(
        f"![{name.replace('_', ' ')} of {markdown_text(programme)}]"
        f"(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
        for name, png in charts.items()
    )


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
    app = current_app()
    moment = aware(as_of, app) if as_of is not None else None
    programme = programme.strip()
    await asyncio.to_thread(lambda: Coordinators(app).known(programme))
    data = await asyncio.to_thread(overview, app, programme, moment, charts=True)
    states = [{"state": s, "placements": n} for s, n in data["states"].items()]
    await acreate_table_artifact(
        key=artifact_key(programme, "states"),
        table=states,
        description=f"Placements per state in {markdown_text(programme)}",
    )
    await publish_overdue_table(programme, data["waiting_longest"], f"as of {data['as_of']}")
    await acreate_markdown_artifact(
        key=artifact_key(programme, "follow-up"),
        markdown=data["markdown"],
        description=f"Follow-up of {markdown_text(programme)}",
    )
    await acreate_markdown_artifact(
        key=artifact_key(programme, "charts"),
        markdown=charts_markdown(programme, data["charts"]),
        description=f"The report's charts for {markdown_text(programme)}",
    )
    get_run_logger().info(
        "%s: %s; %d waiting",
        programme,
        ", ".join(f"{s['state']} {s['placements']}" for s in states) or "no placements",
        len(data["waiting_longest"]),
    )
    return {k: v for k, v in data.items() if k not in ("markdown", "charts")}
