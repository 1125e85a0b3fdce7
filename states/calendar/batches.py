"""How a sweep job works: small batches, one transaction each, one savepoint per item, and
the report of what was done."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Placement,
)
from states.errors import MobilityError
from states.lifecycle.loading import WITH_PEOPLE
from states.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SWEEP_ACTOR = "sweep"
BATCH_SIZE = 100
"""Placements (or waiting people) per transaction: short write locks, bounded memory."""


class UowFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass
class SweepReport:
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    """One line per item that failed unexpectedly; the rest of the sweep went on."""

    def add(self, kind: str, number: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + number

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "counts": dict(sorted(self.counts.items())),
            "failures": list(self.failures),
        }


T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def each_in_savepoint(
    uow: UnitOfWork, report: SweepReport, label: str, action: Callable[[], None]
) -> None:
    """Run one item's changes in a savepoint: a refusal (someone was faster) or a failure
    undoes that item only."""
    try:
        with uow.savepoint():
            action()
    except (MobilityError, IntegrityError):
        report.add("skipped")
    except Exception as error:  # one bad placement must not stop the sweep
        log.exception("sweep: %s failed", label)
        report.failures.append(f"{label}: {type(error).__name__}: {error}")


def placements_with_people(session: Session, ids: Iterable[int]) -> list[Placement]:
    return list(
        session.scalars(
            select(Placement)
            .where(Placement.id.in_(list(ids)))
            .options(*WITH_PEOPLE)
            .order_by(Placement.id)
        ).unique()
    )
