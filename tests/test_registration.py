"""Registering programmes and proposals: all rows or none, no duplicates, readable references."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from models import (
    Person,
    Placement,
    Programme,
)
from models.schemas import PersonIn
from states.bootstrap import App
from states.errors import InvalidInput
from states.intake.input_files import load_programme, load_proposals
from states.intake.registration import register_programme, register_proposals
from tests.cli_runner import counts
from tests.conftest import EXAMPLES, load_examples

AS_OF = datetime(2026, 12, 1, 8, tzinfo=UTC)


def propose(app: App, path: Path, *, draft: bool = False) -> list[tuple[str, str, bool]]:
    registered = register_proposals(
        app.uow(),
        proposals=load_proposals(path),
        actor="sara",
        via="cli",
        draft=draft,
        as_of=AS_OF,
        source=str(path),
    )
    return [(r.reference, r.state, r.created) for r in registered]


def test_the_example_files_register(any_app: App) -> None:
    load_examples(any_app)
    assert propose(any_app, EXAMPLES / "proposal.yaml") == [
        ("PL-2027-0001", "manager_approval", True)
    ]
    assert propose(any_app, EXAMPLES / "proposals.csv") == [
        ("PL-2027-0002", "manager_approval", True),
        ("PL-2027-0003", "manager_approval", True),
    ]
    with any_app.reading() as uow:
        placement = uow.session.scalars(
            select(Placement).where(Placement.reference == "PL-2027-0003")
        ).one()
        assert placement.direction == "outgoing"  # the programme's direction
        assert placement.approval_round == 1
    # Each submitted proposal asks both approvers: two emails each.
    assert counts(any_app)["outbox"] == 6


def test_a_draft_stays_a_proposal(app: App) -> None:
    load_examples(app)
    assert propose(app, EXAMPLES / "proposal.yaml", draft=True) == [
        ("PL-2027-0001", "proposal", True)
    ]
    assert counts(app)["outbox"] == 0


def test_the_same_proposal_twice_returns_the_existing_placement(any_app: App) -> None:
    load_examples(any_app)
    first = propose(any_app, EXAMPLES / "proposals.csv")
    before = counts(any_app)
    again = propose(any_app, EXAMPLES / "proposals.csv")
    assert [(ref, state) for ref, state, _ in again] == [(ref, state) for ref, state, _ in first]
    assert [created for *_, created in again] == [False, False]
    assert counts(any_app) == before


def test_a_different_start_is_a_new_placement(app: App) -> None:
    load_examples(app)
    [proposal] = load_proposals(EXAMPLES / "proposal.yaml")
    later = proposal.model_copy(update={"start": proposal.start.replace(month=3)})
    registered = register_proposals(
        app.uow(), proposals=[proposal, later], actor="s", via="cli", as_of=AS_OF
    )
    assert [r.reference for r in registered] == ["PL-2027-0001", "PL-2027-0002"]


def _write_yaml(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8")
    return path


def _example(**changes: object) -> dict[str, object]:
    data = yaml.safe_load((EXAMPLES / "proposal.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return data  # type: ignore[no-any-return]


def test_three_broken_rows_name_all_three_and_create_nothing(any_app: App, tmp_path: Path) -> None:
    """Rows that parse but break the programmes' rules fail in the database step: still all or
    nothing, every row named."""
    load_examples(any_app)
    before = counts(any_app)
    path = _write_yaml(
        tmp_path / "mixed.yaml",
        [
            _example(participant={"name": "A", "email": "a@x.example"}),
            _example(programme="no-such-programme"),
            _example(participant={"name": "B", "email": "b@x.example"}, direction="outgoing"),
            _example(participant={"name": "C", "email": "c@x.example"}),
            _example(programme="paus-2027", direction="incoming"),
        ],
    )
    with pytest.raises(InvalidInput) as invalid:
        propose(any_app, path)
    assert [str(e) for e in invalid.value.errors] == [
        "row 2, programme: unknown programme 'no-such-programme'",
        "row 3, direction: outgoing is not allowed in affilierad-kompetens-2027 (incoming)",
        "row 5, direction: incoming is not allowed in paus-2027 (outgoing)",
    ]
    assert str(invalid.value).splitlines()[0] == f"{path}: 3 errors, nothing was created"
    assert counts(any_app) == before


def test_a_csv_with_three_invalid_rows_creates_nothing(app: App, tmp_path: Path) -> None:
    load_examples(app)
    before = counts(app)
    lines = (EXAMPLES / "proposals.csv").read_text(encoding="utf-8").splitlines()
    header, good = lines[0], lines[1]
    bad = [
        good.replace("maria.sjoberg@univ.example", "maria"),
        good.replace(",20,", ",0,"),
        good.replace("2027-08-31", "2027-02-28"),
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, good, *bad]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as invalid:
        propose(app, path)
    assert [(e.row, e.field) for e in invalid.value.errors] == [
        (2, "participant_email"),
        (3, "extent_percent"),
        (4, "end"),
    ]
    assert counts(app) == before


def test_a_programme_runs_both_ways_needs_a_direction(app: App, tmp_path: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "programme-paus.yaml").read_text(encoding="utf-8"))
    data.update(key="both-ways-2027", direction="both")
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    programme, text = load_programme(path)
    register_programme(app.uow(), programme=programme, source=text)
    rows = _write_yaml(tmp_path / "p.yaml", [_example(programme="both-ways-2027")])
    with pytest.raises(InvalidInput, match="row 1, direction: required"):
        propose(app, rows)
    rows = _write_yaml(
        tmp_path / "q.yaml", [_example(programme="both-ways-2027", direction="outgoing")]
    )
    [(reference, state, _)] = propose(app, rows)
    with app.reading() as uow:
        stored = uow.session.scalars(
            select(Placement.direction).where(Placement.reference == reference)
        ).one()
    assert (stored, state) == ("outgoing", "manager_approval")


def test_adding_a_programme_again_updates_it(app: App, tmp_path: Path) -> None:
    load_examples(app)
    data = yaml.safe_load((EXAMPLES / "programme-paus.yaml").read_text(encoding="utf-8"))
    data["budget_sek"] = 99
    path = tmp_path / "paus.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    programme, text = load_programme(path)
    assert register_programme(app.uow(), programme=programme, source=text) == ("paus-2027", False)
    with app.reading() as uow:
        budget = uow.session.scalars(
            select(Programme.budget_sek).where(Programme.key == "paus-2027")
        ).one()
    assert budget == 99
    assert counts(app)["programme"] == 2


def test_people_are_shared_between_placements_by_email(app: App) -> None:
    load_examples(app)
    [proposal] = load_proposals(EXAMPLES / "proposal.yaml")
    other = proposal.model_copy(
        update={
            "participant": PersonIn(name="Ola Ek", email="OLA.EK@verktyg.example", language="en"),
        }
    )
    register_proposals(app.uow(), proposals=[proposal, other], actor="s", via="cli", as_of=AS_OF)
    with app.reading() as uow:
        emails = set(uow.session.scalars(select(Person.email)))
    # Two participants, one shared manager and host contact, two coordinators; emails lowercased.
    assert "ola.ek@verktyg.example" in emails
    assert len(emails) == 6


def test_references_count_per_start_year(app: App) -> None:
    load_examples(app)
    [proposal] = load_proposals(EXAMPLES / "proposal.yaml")
    next_year = proposal.model_copy(
        update={
            "start": proposal.start.replace(year=2028),
            "end": proposal.end.replace(year=2028),
        }
    )
    registered = register_proposals(
        app.uow(), proposals=[proposal, next_year], actor="s", via="cli", as_of=AS_OF
    )
    assert [r.reference for r in registered] == ["PL-2027-0001", "PL-2028-0001"]
