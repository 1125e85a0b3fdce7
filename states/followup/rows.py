"""The rows of the programme report: what each figure holds (``states.followup.figures``
computes them; ``reporting`` presents them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class CountRow:
    group: str
    """``direction`` or ``host_organisation`` (empty for the whole programme)."""
    value: str
    state: str
    placements: int


@dataclass(frozen=True)
class LeadTime:
    stage: str
    placements: int
    median_days: float | None
    p90_days: float | None
    days: tuple[float, ...] = field(default=(), repr=False)
    """Every placement's figure, for the distribution picture (not a table column)."""


@dataclass(frozen=True)
class ReminderRow:
    stage: str
    reminders: int
    escalations: int
    placements_reminded: int


@dataclass(frozen=True)
class RateRow:
    measure: str
    placements: int
    out_of: int
    rate: float | None


@dataclass(frozen=True)
class ReasonRow:
    reference: str
    event: str
    on: date
    reason: str


@dataclass(frozen=True)
class MoneyRow:
    reference: str
    state: str
    direction: str
    host_organisation: str
    funding_sek: int
    status: str


@dataclass(frozen=True)
class HostRow:
    host_organisation: str
    placements: int
    went_ahead: int
    first_start: date
    returning: bool
    """The host had a placement in another programme that started before its first here."""


@dataclass(frozen=True)
class ScoreRow:
    kind: str
    role: str
    question: str
    label: str
    answers: int
    mean: float | None
    median: float | None
    score_1: int
    score_2: int
    score_3: int
    score_4: int
    score_5: int


@dataclass(frozen=True)
class YesNoRow:
    kind: str
    role: str
    question: str
    label: str
    answers: int
    yes: int
    no: int


@dataclass(frozen=True)
class OptionRow:
    kind: str
    role: str
    question: str
    option: str
    label: str
    ticked: int


@dataclass(frozen=True)
class TextRow:
    kind: str
    reference: str
    role: str
    question: str
    text: str


@dataclass(frozen=True)
class Money:
    budget_sek: int
    committed_sek: int
    pipeline_sek: int
    released_sek: int

    @property
    def remaining_sek(self) -> int:
        return self.budget_sek - self.committed_sek

    @property
    def committed_share(self) -> float | None:
        return self.committed_sek / self.budget_sek if self.budget_sek else None


@dataclass(frozen=True)
class ProgrammeReport:
    programme: str
    name: str
    direction: str
    language: str
    """The programme's: the report is written in it."""
    as_of: datetime
    """In the programme's time zone."""
    historical: bool
    """Computed from history up to ``as_of`` (True), or of everything recorded (False)."""
    placements: int
    funnel: Mapping[str, int]
    funnel_by_group: tuple[CountRow, ...]
    lead_times: tuple[LeadTime, ...]
    reminders: tuple[ReminderRow, ...]
    rates: tuple[RateRow, ...]
    reasons: tuple[ReasonRow, ...]
    money: Money
    money_by_placement: tuple[MoneyRow, ...]
    hosts: tuple[HostRow, ...]
    scores: tuple[ScoreRow, ...]
    yes_no: tuple[YesNoRow, ...]
    options: tuple[OptionRow, ...]
    texts: tuple[TextRow, ...]
    responses: Mapping[str, Mapping[str, int]]
    """kind → {"asked": n, "answered": n}: how many evaluations and check-ins came back."""

    @property
    def returning_hosts(self) -> int:
        """Host organisations that hosted in an earlier programme."""
        return sum(h.returning for h in self.hosts)

    @property
    def first_time_hosts(self) -> int:
        return len(self.hosts) - self.returning_hosts
