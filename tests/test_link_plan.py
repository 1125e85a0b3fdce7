"""A link page's first statement starts from the token's unique index on PostgreSQL.

The statement joins nine tables; past eight (``join_collapse_limit``) PostgreSQL keeps the
written order, so a join written from the placement hashed every placement and person for one
link (10 ms on 2,000 placements against 0.2 ms from the token)."""

from __future__ import annotations

import pytest

from states.bootstrap import App
from states.links.pages import open_link
from tests.conftest import load_examples, propose_example
from tests.test_links import NOW, PROPOSED, live_links
from tests.test_sweep_indexes import _plan, selects


@pytest.mark.postgres
def test_a_link_page_reads_its_placement_from_the_token_first(postgres_app: App) -> None:
    load_examples(postgres_app)
    reference = propose_example(postgres_app, as_of=PROPOSED)
    raw = live_links(postgres_app, reference, "approval")["home_manager"]
    with selects(postgres_app.engine) as seen:
        open_link(postgres_app.reading(), raw_token=raw, now=NOW)
    statement, parameters = next((s, p) for s, p in seen if "action_token.token_hash =" in s)
    plan = _plan(postgres_app, statement, parameters)
    scans = [line.strip() for line in plan.splitlines() if " Scan " in line or "Scan on" in line]
    assert "action_token" in scans[0], plan
    assert "Hash Join" not in plan and "Merge Join" not in plan, plan
