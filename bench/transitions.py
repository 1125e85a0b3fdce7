"""Events per second through the transition service against the same writes in plain SQL.

Both sides start from the same placements waiting for two approvals and apply two ``approve``
events to each, each event its own transaction: the first records a decision (update, history),
the second also moves the placement to ``agreement`` (a document, three acceptances, three
tokens, five outbox rows). The baseline issues exactly those statements through the same DBAPI
driver, with no ORM and no state machine (``bench.raw_approval``).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from bench.common import Result, fresh_database, load_example_programmes, make_app, proposal_rows
from bench.raw_approval import Dialect, approve, in_transaction
from models.db import get_engine
from models.schemas import ProposalIn
from states.intake.input_files import unflatten, validate_rows
from states.intake.registration import register_proposals
from states.lifecycle.transitions import apply_event

PLACEMENTS = 300


def _setup(url: str) -> tuple[Any, list[str]]:
    app = make_app(url)
    load_example_programmes(app)
    proposals = validate_rows(
        ProposalIn, [unflatten(r) for r in proposal_rows(PLACEMENTS)], source="bench"
    )
    registered = register_proposals(app.uow(), proposals=proposals, actor="bench", via="cli")
    return app, [r.reference for r in registered]


def _project(url: str) -> float:
    app, references = _setup(url)
    started = time.perf_counter()
    for reference in references:
        for role in ("home_manager", "host_contact"):
            apply_event(
                app.uow(),
                reference=reference,
                event="approve",
                role=role,
                actor="bench",
                via="link",
            )
    return 2 * len(references) / (time.perf_counter() - started)


def _baseline(url: str) -> float:
    _app, references = _setup(url)
    engine = get_engine(url)
    dialect = Dialect(postgres=engine.dialect.name == "postgresql")
    raw = engine.raw_connection()
    started = time.perf_counter()
    for reference in references:
        for role in ("home_manager", "host_contact"):
            work = partial(approve, d=dialect, reference=reference, role=role)
            in_transaction(raw, dialect, work)
    elapsed = time.perf_counter() - started
    raw.close()
    return 2 * len(references) / elapsed


def run(backend: str) -> Result:
    with fresh_database(backend) as url:
        baseline = _baseline(url)
    with fresh_database(backend) as url:
        project = _project(url)
    return Result(
        benchmark="transitions",
        backend=backend,
        project=project,
        baseline=baseline,
        unit="events/s",
        target="≥ 1/3",
        higher_is_better=True,
        met=lambda ratio: ratio >= 1 / 3,
    )
