"""The run forms a coordinator fills in the Prefect UI (issue 13, Done 2): every deployment of
prefect.yaml, registered as ``mobility up`` serves it, read back from the Prefect API; every
field has a title in plain words and a line of help, and no field is a nullable string (the
UI's "None" toggle) or a free string where the values are a closed set."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytestmark = pytest.mark.prefect

CLOSED_SETS = ("language", "direction", "decision", "event", "state", "role")
"""A field whose name ends so takes one of a few values: a dropdown, not a text box."""


def _is_nullable_plain_string(field: dict[str, Any]) -> bool:
    types = field.get("anyOf") or []
    plain = any(t.get("type") == "string" and "format" not in t and "enum" not in t for t in types)
    return plain and any(t.get("type") == "null" for t in types)


def form_problems(schema: dict[str, Any]) -> list[str]:
    """What is wrong with one deployment's parameter schema, one line per field."""
    problems = []
    models = {"": schema, **schema.get("definitions", {})}
    for model_name, model in models.items():
        for key, field in model.get("properties", {}).items():
            where = f"{model_name + '.' if model_name else ''}{key}"
            title = field.get("title", "")
            if not title or title == key:
                problems.append(f"{where}: no title in plain words")
            if not field.get("description"):
                problems.append(f"{where}: no description")
            if _is_nullable_plain_string(field):
                problems.append(f"{where}: a nullable string")
            if key.endswith(CLOSED_SETS) and "enum" not in field and "$ref" not in field:
                problems.append(f"{where}: a free string where a Literal fits")
    return problems


def test_form_problems_are_found() -> None:
    """The checker itself: a parameter as Prefect makes it by default is refused."""
    schema = {
        "properties": {
            "language": {"title": "language", "anyOf": [{"type": "string"}, {"type": "null"}]}
        }
    }
    assert form_problems(schema) == [
        "language: no title in plain words",
        "language: no description",
        "language: a nullable string",
        "language: a free string where a Literal fits",
    ]


def test_every_deployment_has_a_form_a_coordinator_can_fill(prefect_server: str) -> None:
    from prefect.client.orchestration import get_client

    from flows.serve import build, deployment_specs

    specs = deployment_specs()
    deployments = build(specs)  # outside the loop: in one, Prefect's to_deployment is async

    async def register_and_read() -> dict[str, dict[str, Any]]:
        for deployment in deployments:
            await deployment.aapply()
        async with get_client() as client:
            return {d.name: d.parameter_openapi_schema for d in await client.read_deployments()}

    schemas = asyncio.run(register_and_read())
    problems = {
        spec["name"]: found
        for spec in specs
        if (found := form_problems(schemas[spec["name"]] or {}))
    }
    assert problems == {}
