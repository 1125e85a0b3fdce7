"""Input and output shapes, validated by pydantic; kept apart from the tables on purpose."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_validator,
)

from models.text import clean_free_text, clean_single_line

Language = Literal["sv", "en"]
Direction = Literal["incoming", "outgoing"]
ProgrammeDirection = Literal["incoming", "outgoing", "both"]
Role = Literal["participant", "home_manager", "host_contact"]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# Names end up in email headers, page titles and CLI tables: one line, no control, bidi or
# other format characters (models.text). Free text keeps its line breaks and tabs.
OneLine = BeforeValidator(clean_single_line)
Name = Annotated[str, OneLine, StringConstraints(min_length=1, max_length=200)]
LongName = Annotated[str, OneLine, StringConstraints(min_length=1, max_length=300)]
Text = Annotated[
    str, BeforeValidator(clean_free_text), StringConstraints(strip_whitespace=True, max_length=5000)
]
RequiredText = Annotated[
    str,
    BeforeValidator(clean_free_text),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
]
if TYPE_CHECKING:
    CheckedOnce = EmailStr
else:

    class CheckedOnce(EmailStr):
        """``EmailStr``, each distinct address checked once per process: a file names the same
        managers and hosts on many rows, and the check (syntax, IDNA) cost a third of
        registering a file. A refused address is not remembered: it is checked again."""

        @classmethod
        def _validate(cls, input_value: str, /) -> str:
            return _checked_email(input_value)


@lru_cache(maxsize=65536)
def _checked_email(value: str) -> str:
    return str(EmailStr._validate(value))  # type: ignore[attr-defined]


Email = Annotated[CheckedOnce, BeforeValidator(_lower), OneLine]
_EMAIL = TypeAdapter(Email)


def normalised_email(value: str) -> str:
    """An address as registration stores it (``CHEF@XN--EXMPLE-CUA.SE`` → ``chef@exämple.se``),
    for looking someone up; what is not a valid address comes back stripped and lower-cased."""
    try:
        return str(_EMAIL.validate_python(value))
    except ValidationError:
        return value.strip().lower()


Key = Annotated[str, OneLine, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,99}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonIn(Strict):
    name: Name
    email: Email
    language: Annotated[Language | None, BeforeValidator(_blank_to_none)] = None


class AgreementRules(Strict):
    template: LongName = "secondment"
    parties: list[Role] = Field(min_length=1)
    binding_language: Language | None = None
    """The language whose text applies; the other is a translation (default: the
    programme's language)."""


class ReminderRules(Strict):
    first_after: int = Field(ge=1, le=60)
    repeat_every: int = Field(ge=1, le=60)
    escalate_after: int = Field(ge=1, le=120)


class EvaluationQuestion(Strict):
    key: Key
    kind: Literal["scale", "text", "choice", "multi", "yesno"]
    required: bool = False
    label: dict[Language, LongName]
    options: list[LongName] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)


class EvaluationRules(Strict):
    respondents: list[Role] = Field(min_length=1)
    due_after: int = Field(ge=1, le=120)
    questions: list[EvaluationQuestion] = Field(default_factory=list)


GroupValue = Annotated[str, OneLine, StringConstraints(min_length=1, max_length=300)]


class CoordinatorsIn(Strict):
    """Who coordinates the programme on the board besides its coordinator: by email, and by a
    value of the identity provider's groups claim (an Entra ID group's object id, a Keycloak
    group path)."""

    emails: list[Email] = Field(default_factory=list)
    groups: list[GroupValue] = Field(default_factory=list)


class StartNoticeRules(Strict):
    business_days_before: int = Field(default=2, ge=0, le=30)
    """The start notice to the participant and the host contact goes out this many Swedish
    business days before the first day (0: none)."""
    welcome: bool = False
    """Also a welcome to the participant on the first day (the first business day)."""


class ProgrammeIn(Strict):
    key: Key
    name: LongName
    direction: ProgrammeDirection
    language: Language = "sv"
    coordinator: PersonIn
    coordinators: CoordinatorsIn = Field(default_factory=CoordinatorsIn)
    budget_sek: int = Field(default=0, ge=0)
    approvals: list[Role] = Field(min_length=1)
    agreement: AgreementRules
    reminders: ReminderRules
    start_notice: StartNoticeRules = Field(default_factory=StartNoticeRules)
    evaluation: EvaluationRules


class ProposalIn(Strict):
    programme: Key
    direction: Annotated[Direction | None, BeforeValidator(_blank_to_none)] = None
    participant: PersonIn
    home_organisation: LongName
    home_manager: PersonIn
    host_organisation: LongName
    host_contact: PersonIn
    start: date
    end: date
    extent_percent: int = Field(ge=1, le=100)
    purpose: RequiredText
    development_plan: Text = ""
    value_for_home: RequiredText
    value_for_host: RequiredText
    student_involvement: Text = ""
    funding_sek: int = Field(default=0, ge=0)

    # A field validator, not a model one: it names the field and runs even when another field
    # of the row is wrong, so one pass lists every error of the row.
    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"must be after the start date {start.isoformat()}")
        return end


# --- output -------------------------------------------------------------------------------


class Out(BaseModel):
    # Each output shape is built when first used, not at import: a registration uses none.
    model_config = ConfigDict(from_attributes=True, defer_build=True)


class PersonOut(Out):
    name: str
    email: str
    language: str | None


class RegisteredOut(Out):
    reference: str
    state: str
    created: bool = True


class HistoryOut(Out):
    event: str
    from_state: str | None
    to_state: str
    actor: str
    via: str
    comment: str | None
    at: datetime
    version: int


class ApprovalOut(Out):
    round: int
    role: str
    person: PersonOut
    decision: str | None
    decided_at: datetime | None
    comment: str | None
    status: str = ""
    """approved, declined, changes_requested, waiting, void or no_longer_asked."""


class AcceptanceOut(Out):
    role: str
    person: PersonOut
    agreement_version: int
    accepted_at: datetime | None
    sha256: str | None
    void: bool
    status: str = ""
    """accepted, waiting, void or no_longer_asked."""


class HolderOut(Out):
    """Someone a placement waits for: their role and name."""

    role: str
    name: str


class PlacementSummary(Out):
    reference: str
    programme: str
    direction: str
    state: str
    version: int
    participant: str
    host_organisation: str
    start: date
    end: date
    extent_percent: int
    holders: list[HolderOut]
    """Who still has to act, from the step registry (a proposal: the coordinator)."""
    waiting_since: date | None
    """The day (programme time) the current wait began: the step's first open request, or the
    day a proposal became one; None when nobody is waited for."""
    business_days_waiting: int | None
    """Swedish business days since ``waiting_since`` up to the list's ``as_of``."""
    overdue: bool
    """Waited past the programme's first reminder threshold in a reminded step."""
    past_escalation: bool
    """Waited past the programme's escalation threshold too."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def waiting_for(self) -> list[str]:
        """ "home_manager: Per Nilsson": ``holders`` as a line each."""
        return [f"{h.role}: {h.name}" for h in self.holders]


class PlacementDetail(Out):
    reference: str
    programme: str
    direction: str
    state: str
    version: int
    participant: PersonOut
    home_organisation: str
    home_manager: PersonOut
    host_organisation: str
    host_contact: PersonOut
    start: date
    end: date
    extent_percent: int
    purpose: str
    development_plan: str
    value_for_home: str
    value_for_host: str
    student_involvement: str
    funding_sek: int
    evaluation_due_on: date | None
    approvals: list[ApprovalOut]
    acceptances: list[AcceptanceOut]
    history: list[HistoryOut]


class ProgrammeOut(Out):
    key: str
    name: str
    direction: str
    language: str
    coordinator: PersonOut
    budget_sek: int
    approvals: list[str]
    placements: int
