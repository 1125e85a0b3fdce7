"""Changing a placement's terms: in a proposal it is a revision; once the agreement is out, it
is an amendment that voids earlier acceptances and sends the new version to every party."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import update

from models import HistoryEntry
from models.schemas import RequiredText, Text
from states.errors import FieldError, InvalidInput, TransitionRefused
from states.lifecycle.loading import load_for_update
from states.lifecycle.refusals import refused
from states.lifecycle.transitions import apply_event_in
from states.lifecycle.writing import TransitionResult
from states.unit_of_work import UnitOfWork


class TermsChange(BaseModel):
    """The terms to change; a field left out (None) keeps its value."""

    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None
    extent_percent: int | None = Field(default=None, ge=1, le=100)
    purpose: RequiredText | None = None
    development_plan: Text | None = None
    value_for_home: RequiredText | None = None
    value_for_host: RequiredText | None = None
    student_involvement: Text | None = None
    funding_sek: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> TermsChange:
        if not self.model_dump(exclude_none=True):
            raise ValueError("name at least one term to change")
        return self


# Field of the change → column of the placement.
COLUMNS: Mapping[str, str] = {
    "start": "start_date",
    "end": "end_date",
    "extent_percent": "extent_percent",
    "purpose": "purpose",
    "development_plan": "development_plan",
    "value_for_home": "value_for_home",
    "value_for_host": "value_for_host",
    "student_involvement": "student_involvement",
    "funding_sek": "funding_sek",
}

# The terms a report figures with, recorded with each change (not the free texts).
FIGURE_TERMS = ("start", "end", "extent_percent", "funding_sek")

# The event that records a change of terms in each state where terms may change.
EVENT_FOR_STATE: Mapping[str, str] = {"proposal": "revise", "agreement": "amend"}


def _describe(changed: Mapping[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{name}: {old} → {new}" for name, (old, new) in changed.items())


def _figure_terms(changed: Mapping[str, tuple[Any, Any]]) -> dict[str, list[Any]] | None:
    terms = {
        name: [_plain(old), _plain(new)]
        for name, (old, new) in changed.items()
        if name in FIGURE_TERMS
    }
    return terms or None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def amend_terms(
    uow: UnitOfWork,
    *,
    reference: str,
    changes: TermsChange,
    actor: str,
    via: str,
    as_of: datetime,
) -> TransitionResult:
    """Change the terms and record it in one transaction. In ``agreement`` this renders
    version n+1, voids every acceptance of version n and asks every party again."""
    with uow:
        session = uow.session
        placement = load_for_update(session, reference)
        event = EVENT_FOR_STATE.get(placement.state)
        if event is None:
            raise refused(
                TransitionRefused, "terms_fixed", reference=reference, state=placement.state
            )
        wanted = changes.model_dump(exclude_none=True)
        changed = {
            name: (getattr(placement, COLUMNS[name]), value)
            for name, value in wanted.items()
            if getattr(placement, COLUMNS[name]) != value
        }
        if not changed:
            raise refused(TransitionRefused, "terms_unchanged", reference=reference)
        start = wanted.get("start", placement.start_date)
        end = wanted.get("end", placement.end_date)
        if end <= start:
            raise InvalidInput(
                [FieldError(None, "end", f"{end} is not after the start {start}")],
                source=reference,
            )
        for name, (_, value) in changed.items():
            setattr(placement, COLUMNS[name], value)
        session.flush()
        result = apply_event_in(
            uow,
            reference=reference,
            event=event,
            actor=actor,
            via=via,
            comment=_describe(changed),
            as_of=as_of,
            placement=placement,
        )
        terms = _figure_terms(changed)
        if terms is not None:
            session.execute(
                update(HistoryEntry)
                .where(
                    HistoryEntry.placement_id == placement.id,
                    HistoryEntry.version == result.version,
                )
                .values(terms=terms)
            )
        uow.commit()
    return result
