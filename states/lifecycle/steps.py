"""The step registry: every step that waits for people, declared once.

A step is a set of rows (``Approval``, ``AgreementAcceptance``, ``EvaluationResponse``), one per
person asked, while the placement is in the step's state. Each step says here, and nowhere
else, which of its rows belong to the current round (``is_current``), which are still open
(``is_open``), hence who still has to act (``is_pending``) — in Python for loaded rows and as a
SQL condition for the sweep and the lists (``pending_sql``; a test holds the two equal on a
database with every kind of row) — who is asked, how the step is keyed in the reminder log,
the link purpose and emails that ask for it, and what a person may decide through its link.

The machine's guards, the notification policy, "waiting for", the sweep, the effects'
prechecks, link pages and resending, loading and the report read the step from here.

Predicates use attribute access only (``row.decision is None``), so they hold for ORM
objects, dataclasses and SQLAlchemy ``Row``s alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select

from models import AgreementAcceptance, Approval, EvaluationResponse, Placement
from states.lifecycle.events import EVENTS_NEEDING_REASON


class StepRow(Protocol):
    """What every step row has (the three tables share no base class)."""

    id: int
    placement_id: int
    role: str
    person_id: int
    requested_at: datetime


Form = Literal["decision", "agreement", "answers"]
"""What a step's link page asks of the person: a decision with a comment, the acceptance of
the agreement document, or answers to questions."""


@dataclass(frozen=True)
class Step:
    name: str
    state: str
    """The placement state the step waits in."""
    model: Any
    """The row type (Approval, AgreementAcceptance or EvaluationResponse)."""
    collection: str
    """The placement's relationship that holds the rows."""
    roles: Callable[[Any], Sequence[str]]
    """Who is asked, from the programme."""
    current: Callable[[Any, Any], bool]
    """(row, placement): the row belongs to the step as it stands (this round, this version,
    this kind)."""
    open: Callable[[Any], bool]
    """The person has not acted yet."""
    current_sql: Callable[[], ColumnElement[bool]]
    """``current`` in SQL, for a query that joins the row's placement."""
    open_sql: Callable[[], ColumnElement[bool]]
    """``open`` in SQL."""
    key: Callable[[Any], str]
    """The step of a placement in the reminder log: approval-r2, agreement-v3."""
    purpose: str
    """The purpose of the step's action tokens (its links)."""
    request: str
    """The email kind that asks for the step."""
    reminder: str | None
    """The email kind that reminds whoever has not acted; None: not reminded."""
    decisions: Mapping[str, str]
    """Event a person may take through the link → what the row then records."""
    outcome: Callable[[Any], str]
    """What a row that is no longer open records (approved, accepted, answered)."""
    acted_at: str
    """The row's column that says when the person acted."""
    form: Form
    holds_placement: bool
    """The placement cannot move on before the step is done: the machine's guards wait for
    it and it is what a placement "waits for". A check-in holds nothing up: its answers are
    stored beside the machine."""
    superseded: str
    """Why a link to a row that is no longer current is dead (a link status code)."""
    superseded_at: str | None
    """The row's column saying since when (None: the placement's state change)."""
    moved_on: str
    """Why a link is dead once the placement has left the step's state."""
    already_done: str
    """The refusal when the person has acted already ({reference}, {role}, {outcome}, {at})."""
    not_asked: str
    """The refusal when nothing is asked of the role in this step ({reference}, {role})."""
    current_at_sql: Callable[[datetime], ColumnElement[bool]] | None = None
    """``current`` as it stood at a moment, in SQL (None: as ``current_sql``, which no later
    event changes)."""
    row_columns: Mapping[str, Any] = field(default_factory=dict)
    """Columns every new row of the step gets (the kind of an evaluation response)."""

    def is_current(self, row: Any, placement: Any) -> bool:
        return self.current(row, placement)

    def is_open(self, row: Any) -> bool:
        return self.open(row)

    def is_pending(self, row: Any, placement: Any) -> bool:
        """The person of ``row`` still has to act in this step."""
        return self.current(row, placement) and self.open(row)

    def pending_sql(self) -> ColumnElement[bool]:
        """``is_pending`` in SQL, for a query that joins the row's placement."""
        return and_(self.current_sql(), self.open_sql())

    def pending_at_sql(self, moment: datetime) -> ColumnElement[bool]:
        """The person had been asked and had not acted yet at ``moment``, in this step as it
        stood then (the placement's state then is the caller's to check)."""
        acted = getattr(self.model, self.acted_at)
        current = self.current_at_sql(moment) if self.current_at_sql else self.current_sql()
        return and_(
            self.model.requested_at <= moment, or_(acted.is_(None), acted > moment), current
        )

    def rows(self, placement: Any) -> Sequence[Any]:
        """The step's rows of ``placement`` (its collection must be loaded)."""
        rows: Sequence[Any] = getattr(placement, self.collection)
        return rows

    def current_rows(self, placement: Any) -> list[Any]:
        return [row for row in self.rows(placement) if self.current(row, placement)]

    def pending_rows(self, placement: Any) -> list[Any]:
        return [row for row in self.rows(placement) if self.is_pending(row, placement)]

    def row_status(self, row: Any, placement: Any) -> str:
        """What ``row`` says now: what the person recorded (approved, accepted, …); "waiting"
        while the placement waits for it; "void" for a row of an earlier round or agreement
        version that no longer counts; "no_longer_asked" once the placement has left the step
        without it (withdrawn, declined by someone else)."""
        current = self.is_current(row, placement)
        if not current and (self.is_open(row) or self.superseded_at is not None):
            return "void"
        if not self.is_open(row):
            return self.outcome(row)
        return "waiting" if placement.state == self.state else "no_longer_asked"

    @property
    def decisions_needing_comment(self) -> frozenset[str]:
        return frozenset(self.decisions) & EVENTS_NEEDING_REASON


def _only_outcome(step_decisions: Mapping[str, str]) -> Callable[[Any], str]:
    (outcome,) = set(step_decisions.values())
    return lambda row: outcome


def _round_at(moment: datetime) -> Any:
    """The approval round a placement was in at ``moment``: the last one asked by then."""
    earlier = Approval.__table__.alias("earlier")
    return (
        select(func.max(earlier.c.round))
        .where(earlier.c.placement_id == Approval.placement_id, earlier.c.requested_at <= moment)
        .scalar_subquery()
    )


_APPROVAL_DECISIONS = {
    "approve": "approved",
    "decline": "declined",
    "request_changes": "changes_requested",
}
_ANSWER = {"answer": "answered"}

APPROVAL = Step(
    name="approval",
    state="manager_approval",
    model=Approval,
    collection="approvals",
    roles=lambda programme: programme.approval_roles,
    current=lambda row, placement: row.round == placement.approval_round,
    open=lambda row: row.decision is None,
    current_sql=lambda: Approval.round == Placement.approval_round,
    open_sql=lambda: Approval.decision.is_(None),
    current_at_sql=lambda moment: Approval.round == _round_at(moment),
    key=lambda placement: f"approval-r{placement.approval_round}",
    purpose="approval",
    request="approval_request",
    reminder="approval_reminder",
    decisions=_APPROVAL_DECISIONS,
    outcome=lambda row: str(row.decision),
    acted_at="decided_at",
    form="decision",
    holds_placement=True,
    superseded="decided_by_others",
    superseded_at=None,
    moved_on="decided_by_others",
    already_done=("{reference} was already decided by the {role} ({outcome}) on {at:%Y-%m-%d}"),
    not_asked="{reference}: no approval is asked of the {role} in this round",
)

AGREEMENT = Step(
    name="agreement",
    state="agreement",
    model=AgreementAcceptance,
    collection="acceptances",
    roles=lambda programme: programme.agreement_parties,
    # A new version voids the acceptances of the one before: what is not void is current.
    current=lambda row, placement: row.voided_at is None,
    open=lambda row: row.accepted_at is None,
    current_sql=lambda: AgreementAcceptance.voided_at.is_(None),
    open_sql=lambda: AgreementAcceptance.accepted_at.is_(None),
    current_at_sql=lambda moment: or_(
        AgreementAcceptance.voided_at.is_(None), AgreementAcceptance.voided_at > moment
    ),
    key=lambda placement: f"agreement-v{placement.agreement_version}",
    purpose="agreement",
    request="agreement_request",
    reminder="agreement_reminder",
    decisions={"accept": "accepted"},
    outcome=_only_outcome({"accept": "accepted"}),
    acted_at="accepted_at",
    form="agreement",
    holds_placement=True,
    superseded="agreement_changed",
    superseded_at="voided_at",
    moved_on="decided_by_others",
    already_done="{reference}: the {role} already accepted this agreement on {at:%Y-%m-%d}",
    not_asked="{reference}: the {role} is no party to the agreement",
)

EVALUATION = Step(
    name="evaluation",
    state="evaluation",
    model=EvaluationResponse,
    collection="responses",
    roles=lambda programme: programme.evaluation_respondents,
    current=lambda row, placement: row.kind == "evaluation",
    open=lambda row: row.submitted_at is None,
    current_sql=lambda: EvaluationResponse.kind == "evaluation",
    open_sql=lambda: EvaluationResponse.submitted_at.is_(None),
    key=lambda placement: "evaluation",
    purpose="evaluation",
    request="evaluation_request",
    reminder="evaluation_reminder",
    decisions=_ANSWER,
    outcome=_only_outcome(_ANSWER),
    acted_at="submitted_at",
    form="answers",
    holds_placement=True,
    superseded="step_over",
    superseded_at=None,
    moved_on="step_over",
    already_done="{reference}: the {role} already answered the evaluation on {at:%Y-%m-%d}",
    not_asked="{reference}: no evaluation is asked of the {role}",
    row_columns={"kind": "evaluation"},
)

CHECKIN_ROLES = ("participant", "host_contact")

CHECKIN = Step(
    name="checkin",
    state="placement",
    model=EvaluationResponse,
    collection="responses",
    roles=lambda programme: CHECKIN_ROLES,
    current=lambda row, placement: row.kind == "checkin",
    open=lambda row: row.submitted_at is None,
    current_sql=lambda: EvaluationResponse.kind == "checkin",
    open_sql=lambda: EvaluationResponse.submitted_at.is_(None),
    key=lambda placement: "checkin",
    purpose="checkin",
    request="checkin_request",
    reminder=None,
    decisions=_ANSWER,
    outcome=_only_outcome(_ANSWER),
    acted_at="submitted_at",
    form="answers",
    holds_placement=False,
    superseded="step_over",
    superseded_at=None,
    moved_on="step_over",
    already_done="{reference}: the {role} already answered the check-in on {at:%Y-%m-%d}",
    not_asked="{reference}: no check-in is asked of the {role}",
    row_columns={"kind": "checkin"},
)

STEPS: tuple[Step, ...] = (APPROVAL, AGREEMENT, EVALUATION, CHECKIN)
"""In the order a placement meets them (reports list them so)."""

BY_PURPOSE: Mapping[str, Step] = {step.purpose: step for step in STEPS}
BY_STATE: Mapping[str, Step] = {step.state: step for step in STEPS}
"""The step a placement in this state waits for (at most one per state)."""
HOLDING: tuple[Step, ...] = tuple(step for step in STEPS if step.holds_placement)
REMINDED: tuple[Step, ...] = tuple(step for step in STEPS if step.reminder is not None)
SWEEP_REMINDER, REMINDER_ON_REQUEST = "reminder", "manual"
REMINDER_KINDS: tuple[str, ...] = (SWEEP_REMINDER, REMINDER_ON_REQUEST)
"""The reminder log's kinds that are reminders: the sweep's, and one a coordinator asked for
(a person is told how many they have had of both)."""
MACHINE_DECISIONS: Mapping[str, Step] = {
    event: step for step in HOLDING for event in step.decisions
}
"""Machine event a person takes in a step → that step (approve, decline, … accept, answer)."""


def holding_step(state: str) -> Step | None:
    """The step that holds a placement in ``state`` up, if any."""
    step = BY_STATE.get(state)
    return step if step is not None and step.holds_placement else None
