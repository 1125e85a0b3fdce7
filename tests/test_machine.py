"""Every (state, event) pair of the placement machine, driven through the one service.

The tables below name what each allowed pair leads to and each guard's refusal; a test checks
that together they cover exactly the machine's transitions, so a new transition in
``states/lifecycle/machine.py`` fails here until it is described.
"""

from __future__ import annotations

import itertools
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import HistoryEntry, OutboxMessage, Placement
from models.schemas import PersonIn
from states.bootstrap import App
from states.errors import AlreadyDecided, NotPermitted, TransitionRefused
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.machine import EVENTS, FINAL_STATES, STATES, PlacementMachine, events_from
from states.lifecycle.transitions import apply_event
from tests.conftest import EXAMPLES, load_examples, make_app

# The example proposal runs 2027-02-01 .. 2027-07-30; its evaluation is due 10 business days on.
REGISTERED = datetime(2026, 12, 1, 8, tzinfo=UTC)
BEFORE_START = datetime(2027, 1, 15, 9, tzinfo=UTC)
AFTER_START = datetime(2027, 3, 1, 9, tzinfo=UTC)
ON_LAST_DAY = datetime(2027, 7, 30, 9, tzinfo=UTC)
AFTER_END = datetime(2027, 7, 31, 9, tzinfo=UTC)
AFTER_DUE = datetime(2027, 9, 1, 9, tzinfo=UTC)

APPROVERS = ("home_manager", "host_contact")
PARTIES = ("participant", "home_manager", "host_contact")
RESPONDENTS = ("participant", "host_contact", "home_manager")

_counter = itertools.count(1)


@pytest.fixture(scope="module")
def machine_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> App:
    """One SQLite file for the whole matrix: each case registers a placement of its own, so
    the cases stay independent while the engine (and its compiled SQL) is built once."""
    directory = tmp_path_factory.mktemp("machine")
    shutil.copy(sqlite_template, directory / "mobility.db")
    app = make_app(f"sqlite:///{directory / 'mobility.db'}", directory / "var")
    load_examples(app)
    return app


def register(app: App, *, draft: bool = False) -> str:
    """A fresh copy of the example proposal (its own participant, so no duplicate)."""
    number = next(_counter)
    proposal = load_proposals(EXAMPLES / "proposal.yaml")[0]
    proposal = proposal.model_copy(
        update={"participant": PersonIn(name=f"Person {number}", email=f"p{number}@x.example")}
    )
    registered = register_proposals(
        app.uow(),
        proposals=[proposal],
        actor="coordinator",
        via="cli",
        draft=draft,
        as_of=REGISTERED,
    )
    return registered[0].reference


def act(
    app: App,
    ref: str,
    event: str,
    *,
    role: str | None = None,
    as_of: datetime = REGISTERED,
    **kwargs: Any,
) -> str:
    return apply_event(
        app.uow(),
        reference=ref,
        event=event,
        role=role,
        actor=role or "coordinator",
        via="cli",
        comment="a reason",
        as_of=as_of,
        **kwargs,
    ).to_state


# How to bring a fresh placement into each state: (event, role, as_of) steps after registering.
PATHS: dict[str, list[tuple[str, str | None, datetime]]] = {
    "proposal": [],  # registered as a draft
    "manager_approval": [],
    "agreement": [("approve", r, REGISTERED) for r in APPROVERS],
    "declined": [("decline", "home_manager", REGISTERED)],
    "withdrawn": [("withdraw", None, REGISTERED)],
}
PATHS["placement"] = PATHS["agreement"] + [("accept", r, REGISTERED) for r in PARTIES]
PATHS["evaluation"] = PATHS["placement"] + [("end", None, AFTER_END)]
PATHS["completed"] = PATHS["evaluation"] + [("answer", r, AFTER_END) for r in RESPONDENTS]
PATHS["cancelled"] = PATHS["placement"] + [("cancel", None, AFTER_START)]


def placement_in(app: App, state: str) -> str:
    ref = register(app, draft=state == "proposal")
    for event, role, as_of in PATHS[state]:
        act(app, ref, event, role=role, as_of=as_of)
    assert snapshot(app, ref).state == state
    return ref


@dataclass(frozen=True)
class Snapshot:
    state: str
    version: int
    history: int
    outbox: int


def snapshot(app: App, ref: str) -> Snapshot:
    with app.reading() as uow:
        placement = uow.session.scalars(select(Placement).where(Placement.reference == ref)).one()
        history = uow.session.scalar(
            select(func.count()).where(HistoryEntry.placement_id == placement.id)
        )
        outbox = uow.session.scalar(
            select(func.count()).where(OutboxMessage.placement_id == placement.id)
        )
        return Snapshot(placement.state, placement.version, history or 0, outbox or 0)


@dataclass(frozen=True)
class Case:
    """One event applied to a placement in ``state``; ``before`` are steps that set it up."""

    state: str
    event: str
    role: str | None = None
    as_of: datetime = REGISTERED
    before: tuple[tuple[str, str | None, datetime], ...] = ()
    to: str | None = None  # the state it leads to; None: refused
    refusal: str | None = None  # a regex the refusal must match (else the generic wording)
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        outcome = f"->{self.to}" if self.to else "refused"
        extra = f"[{self.role}]" if self.role else ""
        when = f"@{self.as_of:%Y-%m-%d}" if self.as_of != REGISTERED else ""
        return f"{self.state}-{self.event}{extra}{when}{outcome}"


ALLOWED: list[Case] = [
    Case("proposal", "revise", to="proposal"),
    Case("proposal", "submit", to="manager_approval"),
    Case("proposal", "withdraw", to="withdrawn"),
    Case("manager_approval", "approve", role="home_manager", to="manager_approval"),
    Case(
        "manager_approval",
        "approve",
        role="host_contact",
        before=(("approve", "home_manager", REGISTERED),),
        to="agreement",
    ),
    Case("manager_approval", "decline", role="host_contact", to="declined"),
    Case("manager_approval", "request_changes", role="home_manager", to="proposal"),
    Case("manager_approval", "withdraw", to="withdrawn"),
    Case("agreement", "accept", role="participant", to="agreement"),
    Case(
        "agreement",
        "accept",
        role="host_contact",
        before=(("accept", "participant", REGISTERED), ("accept", "home_manager", REGISTERED)),
        to="placement",
    ),
    Case("agreement", "amend", to="agreement"),
    Case("agreement", "withdraw", to="withdrawn"),
    Case("placement", "end", as_of=AFTER_END, to="evaluation"),
    Case("placement", "withdraw", as_of=BEFORE_START, to="withdrawn"),
    Case("placement", "cancel", as_of=AFTER_START, to="cancelled"),
    Case(
        "evaluation",
        "answer",
        role="participant",
        as_of=AFTER_END,
        to="evaluation",
        kwargs={"answers": {"goals": 4}},
    ),
    Case(
        "evaluation",
        "answer",
        role="home_manager",
        as_of=AFTER_END,
        before=(("answer", "participant", AFTER_END), ("answer", "host_contact", AFTER_END)),
        to="completed",
        kwargs={"answers": {"goals": 5}},
    ),
    Case("evaluation", "close", as_of=AFTER_DUE, to="completed"),
]

# Allowed pairs whose guard says "not now": each gives its own reason.
GUARDED: list[Case] = [
    Case(
        "placement",
        "end",
        as_of=AFTER_START,
        refusal=r"cannot end before its last day 2027-07-30 is over",
    ),
    # "till och med 30 juli": the last day is a day of the placement; it ends the day after.
    Case(
        "placement",
        "end",
        as_of=ON_LAST_DAY,
        refusal=r"cannot end before its last day 2027-07-30 is over",
    ),
    Case(
        "placement",
        "withdraw",
        as_of=AFTER_START,
        refusal=r"has started \(2027-02-01\); cancel it instead of withdrawing it",
    ),
    Case(
        "placement",
        "cancel",
        as_of=BEFORE_START,
        refusal=r"has not started yet \(2027-02-01\); withdraw it instead of cancelling it",
    ),
    Case(
        "evaluation",
        "close",
        as_of=AFTER_END,
        refusal=r"cannot be closed before its evaluation is due on 2027-08-13",
    ),
]

# The role a refused event is tried with: the one most likely to slip through.
DEFAULT_ROLE = {
    "approve": "home_manager",
    "decline": "home_manager",
    "request_changes": "home_manager",
    "accept": "participant",
    "answer": "participant",
}

REFUSED: list[Case] = [
    Case(state, event, role=DEFAULT_ROLE.get(event))
    for state in STATES
    for event in EVENTS
    if event not in events_from(state)
]


def test_the_tables_cover_every_pair_of_the_machine() -> None:
    allowed = {(c.state, c.event) for c in ALLOWED}
    assert allowed == {(s, e) for s in STATES for e in events_from(s)}
    assert {(c.state, c.event) for c in GUARDED} <= allowed
    assert allowed | {(c.state, c.event) for c in REFUSED} == set(itertools.product(STATES, EVENTS))
    assert len(STATES) == 9 and len(EVENTS) == 12
    # The targets named above are the machine's own (internal transitions stay in place).
    for case in ALLOWED:
        source = PlacementMachine.states_map[case.state]
        targets = {
            (t.target.value if t.target is not None else case.state)
            for t in source.transitions
            if case.event in {e.id for e in t.events}
        }
        assert case.to in targets, case.id


@pytest.mark.parametrize("case", ALLOWED, ids=lambda c: c.id)
def test_allowed_transition(machine_app: App, case: Case) -> None:
    ref = placement_in(machine_app, case.state)
    for event, role, as_of in case.before:
        act(machine_app, ref, event, role=role, as_of=as_of)
    before = snapshot(machine_app, ref)
    to_state = act(machine_app, ref, case.event, role=case.role, as_of=case.as_of, **case.kwargs)
    after = snapshot(machine_app, ref)
    assert to_state == after.state == case.to
    assert after.version == before.version + 1
    assert after.history == before.history + 1


def _assert_nothing_changed(app: App, ref: str, before: Snapshot) -> None:
    assert snapshot(app, ref) == before


@pytest.mark.parametrize("case", GUARDED, ids=lambda c: c.id)
def test_guard_refuses_with_its_reason(machine_app: App, case: Case) -> None:
    ref = placement_in(machine_app, case.state)
    before = snapshot(machine_app, ref)
    with pytest.raises(TransitionRefused) as refused:
        act(machine_app, ref, case.event, role=case.role, as_of=case.as_of)
    assert case.refusal is not None
    assert re.fullmatch(f"{ref} {case.refusal}", str(refused.value)), str(refused.value)
    _assert_nothing_changed(machine_app, ref, before)


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_refused_transition_says_why_in_words(machine_app: App, case: Case) -> None:
    ref = placement_in(machine_app, case.state)
    before = snapshot(machine_app, ref)
    with pytest.raises(TransitionRefused) as refused:
        act(machine_app, ref, case.event, role=case.role, as_of=case.as_of)
    message = str(refused.value)
    if case.state in FINAL_STATES:
        # Over and done: "PL-2027-0003 is withdrawn; it can no longer be approved".
        assert isinstance(refused.value, AlreadyDecided)
        expected = rf"{ref} is {case.state}; it can no longer be [a-z ]+"
        assert re.fullmatch(expected, message), message
    else:
        assert re.fullmatch(rf"{ref} is [a-z ]+; it cannot be [a-z ]+ now", message), message
    _assert_nothing_changed(machine_app, ref, before)


def test_the_issue_s_example_message(machine_app: App) -> None:
    ref = placement_in(machine_app, "withdrawn")
    with pytest.raises(AlreadyDecided) as refused:
        act(machine_app, ref, "approve", role="home_manager")
    assert str(refused.value) == f"{ref} is withdrawn; it can no longer be approved"


def test_an_approver_cannot_decide_twice(machine_app: App) -> None:
    ref = placement_in(machine_app, "manager_approval")
    act(machine_app, ref, "approve", role="home_manager")
    before = snapshot(machine_app, ref)
    with pytest.raises(AlreadyDecided, match=r"already decided by the home_manager \(approved\)"):
        act(machine_app, ref, "decline", role="home_manager")
    _assert_nothing_changed(machine_app, ref, before)


def test_someone_without_a_part_in_the_step_is_refused(machine_app: App) -> None:
    ref = placement_in(machine_app, "manager_approval")
    before = snapshot(machine_app, ref)
    with pytest.raises(NotPermitted, match="no approval is asked of the participant"):
        act(machine_app, ref, "approve", role="participant")
    _assert_nothing_changed(machine_app, ref, before)


def test_a_party_cannot_accept_twice(machine_app: App) -> None:
    ref = placement_in(machine_app, "agreement")
    act(machine_app, ref, "accept", role="participant")
    with pytest.raises(AlreadyDecided, match="the participant already accepted"):
        act(machine_app, ref, "accept", role="participant")


def test_request_for_changes_opens_a_new_round(machine_app: App) -> None:
    ref = placement_in(machine_app, "manager_approval")
    act(machine_app, ref, "approve", role="home_manager")
    act(machine_app, ref, "request_changes", role="host_contact")
    assert act(machine_app, ref, "submit") == "manager_approval"
    # Round 2 asks both again: the earlier approval does not count.
    assert act(machine_app, ref, "approve", role="host_contact") == "manager_approval"
    assert act(machine_app, ref, "approve", role="home_manager") == "agreement"


def test_amended_agreement_must_be_accepted_again(machine_app: App) -> None:
    ref = placement_in(machine_app, "agreement")
    act(machine_app, ref, "accept", role="participant")
    act(machine_app, ref, "accept", role="home_manager")
    act(machine_app, ref, "amend")
    for role in ("participant", "home_manager"):
        assert act(machine_app, ref, "accept", role=role) == "agreement"
    assert act(machine_app, ref, "accept", role="host_contact") == "placement"


def test_a_reason_is_required_to_withdraw(machine_app: App) -> None:
    ref = placement_in(machine_app, "manager_approval")
    before = snapshot(machine_app, ref)
    with pytest.raises(TransitionRefused, match="a reason is required"):
        apply_event(
            machine_app.uow(),
            reference=ref,
            event="withdraw",
            actor="c",
            via="cli",
            comment="  ",
            as_of=REGISTERED,
        )
    _assert_nothing_changed(machine_app, ref, before)


def test_an_unknown_event_is_refused(machine_app: App) -> None:
    ref = placement_in(machine_app, "manager_approval")
    with pytest.raises(TransitionRefused, match="unknown event 'explode'"):
        act(machine_app, ref, "explode")
