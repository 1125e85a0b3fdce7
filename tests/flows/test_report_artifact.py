"""The artifacts ops and coordinators read, from the Prefect server: the follow-up's Markdown
holds no markup of what people typed (issue 9, item 4); who holds each placement up, per
programme, from the sweep and the report; the report's charts (issue 13)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.context import use_app
from states.bootstrap import App
from tests.conftest import propose_example
from tests.test_reminders import at
from tests.test_report_escaping import PROGRAMME, assert_inert, hostile_programme

pytestmark = pytest.mark.prefect


def test_the_follow_up_artifact_is_inert_markdown(
    prefect_server: str, app: App, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.report import programme_report

    hostile_programme(app, tmp_path)
    with use_app(app):
        asyncio.run(programme_report(programme=PROGRAMME))

    async def published() -> list[tuple[str, str]]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(like_=f"{PROGRAMME}-follow-up")
                )
            )
            return [(str(a.data), str(a.description)) for a in found]

    artifacts = asyncio.run(published())
    assert artifacts
    for markdown, description in artifacts:
        assert_inert(markdown)
        assert "<" not in description


async def _latest(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactCollectionFilter,
        ArtifactCollectionFilterKey,
    )

    async with get_client() as client:
        return await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
        )


def test_the_sweep_and_the_report_publish_who_holds_each_placement_up(
    prefect_server: str, examples: App
) -> None:
    """One table per programme, under one key: the latest of the sweep's and the report's is
    the collection's latest; the report's charts are PNG images inside its Markdown."""
    from flows.report import programme_report
    from flows.sweep import sweep

    reference = propose_example(examples, as_of=at(date(2027, 3, 24), 9))
    with use_app(examples):
        asyncio.run(sweep(as_of=datetime(2027, 3, 31, 7)))
    (table,) = asyncio.run(_latest("affilierad-kompetens-2027-overdue"))
    rows = json.loads(str(table.data))
    assert rows == [
        {
            "placement": reference,
            "state": "Waiting for manager approval",
            "waiting since": "2027-03-24",
            "business days": 3,  # Good Friday and Easter Monday 2027 between
            "waiting for": "Eva Holm (home manager); Jan Berg (host contact)",
        }
    ]
    (empty,) = asyncio.run(_latest("paus-2027-overdue"))
    assert json.loads(str(empty.data)) == []
    with use_app(examples):
        asyncio.run(programme_report(programme="affilierad-kompetens-2027"))
    (charts,) = asyncio.run(_latest("affilierad-kompetens-2027-charts"))
    images = re.findall(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", str(charts.data))
    assert len(images) == 4
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
