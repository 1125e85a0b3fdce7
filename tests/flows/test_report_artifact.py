"""The ``programme-report`` flow's Markdown artifact shows what people typed as text (issue 9,
item 4): read back from the Prefect server, it holds no markup of theirs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flows.context import use_app
from states.bootstrap import App
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
