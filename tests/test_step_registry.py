"""The step registry (``states.lifecycle.steps``) is the one home of "who still has to act":
its Python rule and its SQL rule pick the same rows on a database holding every kind of row
for every step, on SQLite and PostgreSQL, and no other product module spells the rule."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import (
    AgreementAcceptance,
    AgreementDocument,
    Approval,
    EvaluationResponse,
    Placement,
    table_of,
)
from states.bootstrap import App
from states.lifecycle.loading import load_for_update
from states.lifecycle.machine import STATES
from states.lifecycle.steps import BY_PURPOSE, BY_STATE, STEPS, Step
from tests.conftest import load_examples, propose_example

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2027, 3, 1, 9, tzinfo=UTC)
DECISIONS = (None, "approved", "declined", "changes_requested")
MOMENTS = (None, AT)
KINDS = ("evaluation", "checkin")


def _placements(session: Session, template: Placement) -> list[int]:
    """One placement per state (round 2, agreement version 2), copies of ``template``."""
    columns = {
        attribute.columns[0].name: getattr(template, attribute.key)
        for attribute in Placement.__mapper__.column_attrs
        if attribute.key not in ("id", "reference", "start_date", "end_date", "state")
    }
    ids = []
    for number, state in enumerate(STATES):
        ids.append(
            session.execute(
                insert(table_of(Placement)).returning(table_of(Placement).c.id),
                {
                    **columns,
                    "reference": f"PL-2099-{number:04d}",
                    "state": state,
                    "start_date": template.start_date + timedelta(days=number + 1),
                    "end_date": template.end_date + timedelta(days=number + 1),
                    "approval_round": 2,
                    "agreement_version": 2,
                },
            ).scalar_one()
        )
    return ids


def _every_kind_of_row(session: Session, placement_id: int, person_id: int) -> None:
    """Decided and undecided, this round and the one before; accepted or not, void or not;
    answered or not, of both kinds. A role per row (the tables' unique keys)."""
    role = (f"role{n}" for n in itertools.count())
    for round_, decision in itertools.product((1, 2), DECISIONS):
        session.execute(
            insert(table_of(Approval)),
            {
                "placement_id": placement_id,
                "round": round_,
                "role": next(role),
                "person_id": person_id,
                "requested_at": AT,
                "decision": decision,
                "decided_at": AT if decision else None,
            },
        )
    documents = {
        version: session.execute(
            insert(table_of(AgreementDocument)).returning(table_of(AgreementDocument).c.id),
            {
                "placement_id": placement_id,
                "version": version,
                "template": "secondment",
                "language": "sv",
                "sha256": "0" * 64,
                "content_html": "<p></p>",
                "created_at": AT,
            },
        ).scalar_one()
        for version in (1, 2)
    }
    for version, voided, accepted in itertools.product((1, 2), MOMENTS, MOMENTS):
        session.execute(
            insert(table_of(AgreementAcceptance)),
            {
                "placement_id": placement_id,
                "document_id": documents[version],
                "role": next(role),
                "person_id": person_id,
                "requested_at": AT,
                "voided_at": voided,
                "accepted_at": accepted,
            },
        )
    for kind, submitted in itertools.product(KINDS, MOMENTS):
        session.execute(
            insert(table_of(EvaluationResponse)),
            {
                "placement_id": placement_id,
                "kind": kind,
                "role": next(role),
                "person_id": person_id,
                "requested_at": AT,
                "submitted_at": submitted,
            },
        )


@pytest.fixture
def every_row(any_app: App) -> App:
    load_examples(any_app)
    reference = propose_example(any_app, draft=True)
    with any_app.uow() as uow:
        session = uow.session
        template = load_for_update(session, reference, lock=False)
        person_id = template.participant_id
        for placement_id in _placements(session, template):
            _every_kind_of_row(session, placement_id, person_id)
        session.execute(
            update(Placement).where(Placement.reference == reference).values(state="completed")
        )
        uow.commit()
    return any_app


def _python(app: App, step: Step, *, waiting: bool) -> set[int]:
    with app.reading() as uow:
        references = uow.session.scalars(select(Placement.reference)).all()
        found = set()
        for reference in references:
            placement = load_for_update(uow.session, reference, lock=False)
            if waiting and placement.state != step.state:
                continue
            found |= {row.id for row in step.pending_rows(placement)}
        return found


def _sql(app: App, step: Step, *, waiting: bool) -> set[int]:
    model = step.model
    query = (
        select(model.id)
        .join(Placement, Placement.id == model.placement_id)
        .where(step.pending_sql())
    )
    if waiting:
        query = query.where(Placement.state == step.state)
    with app.reading() as uow:
        return set(uow.session.scalars(query))


@pytest.mark.parametrize("step", STEPS, ids=[step.name for step in STEPS])
@pytest.mark.parametrize("waiting", [False, True], ids=["pending", "waiting"])
def test_the_python_and_sql_rules_pick_the_same_rows(
    every_row: App, step: Step, waiting: bool
) -> None:
    python = _python(every_row, step, waiting=waiting)
    sql = _sql(every_row, step, waiting=waiting)
    assert python == sql
    with every_row.reading() as uow:
        all_rows = set(uow.session.scalars(select(step.model.id)))
    # the database holds rows either way: the rules had something to tell apart
    assert python and python < all_rows


def test_each_pending_row_is_current_and_open(every_row: App) -> None:
    """Spot-check the rules against the grid: one pending approval per placement (round 2,
    no decision), one pending acceptance (not void, not accepted, either version: voiding is
    what retires a version), one pending response of each kind."""
    with every_row.reading() as uow:
        placement = load_for_update(
            uow.session,
            uow.session.scalars(
                select(Placement.reference).where(Placement.state == "proposal")
            ).one(),
            lock=False,
        )
        pending = {step.name: step.pending_rows(placement) for step in STEPS}
    assert [(a.round, a.decision) for a in pending["approval"]] == [(2, None)]
    assert len(pending["agreement"]) == 2
    assert all(a.voided_at is None and a.accepted_at is None for a in pending["agreement"])
    assert [(r.kind, r.submitted_at) for r in pending["evaluation"]] == [("evaluation", None)]
    assert [(r.kind, r.submitted_at) for r in pending["checkin"]] == [("checkin", None)]


def test_every_step_has_its_own_purpose_state_and_emails() -> None:
    assert len(BY_PURPOSE) == len(BY_STATE) == len(STEPS)
    assert all(step.state in STATES for step in STEPS)
    assert len({step.request for step in STEPS}) == len(STEPS)


# The pending rule's spellings: a test of "nobody acted" on a step column, or of the round.
PENDING_COLUMNS = ("decision", "accepted_at", "voided_at", "submitted_at")


def _spells_the_rule(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare) and any(isinstance(op, ast.Is) for op in node.ops):
        target = node.left
        return isinstance(target, ast.Attribute) and target.attr in PENDING_COLUMNS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        return (
            node.func.attr == "is_"
            and isinstance(owner, ast.Attribute)
            and owner.attr in PENDING_COLUMNS
        )
    if isinstance(node, ast.Compare):
        names = [node.left, *node.comparators]
        return any(isinstance(n, ast.Attribute) and n.attr == "approval_round" for n in names)
    return False


def test_no_product_module_but_the_registry_spells_the_pending_rule() -> None:
    found = []
    for package in ("states", "notifications", "web", "cli", "flows", "reporting"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "states" / "lifecycle" / "steps.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if _spells_the_rule(node):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")  # type: ignore[attr-defined]
    assert found == []


def test_the_check_notices_a_second_spelling() -> None:
    copies = [
        "waiting = [a for a in approvals if a.decision is None]",
        "query.where(AgreementAcceptance.accepted_at.is_(None))",
        "current = [a for a in approvals if a.round == placement.approval_round]",
    ]
    for source in copies:
        assert any(_spells_the_rule(node) for node in ast.walk(ast.parse(source))), source
