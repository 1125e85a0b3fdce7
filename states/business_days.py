"""Swedish business days: weekdays that are neither public holidays nor the eves offices
close on (midsummer, Christmas and New Year's eves)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from states.unit_of_work import UnitOfWork


@lru_cache(maxsize=64)
def _closed_days(year: int) -> frozenset[date]:
    # Imported here, once per process: ~15 ms that a command counting no business days (a
    # registration) need not pay.
    import holidays

    closed = set(holidays.country_holidays("SE", years=year))
    # Midsummer, Christmas and New Year's eves are no public holidays, but offices close.
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    closed.update({midsummer_eve, date(year, 12, 24), date(year, 12, 31)})
    return frozenset(closed)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _closed_days(day.year)


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` business days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """How many business days lie after ``start`` up to and including ``end``."""
    if end <= start:
        return 0
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_business_day(start + timedelta(days=n))
    )


@dataclass(frozen=True)
class Moment:
    """``as_of`` seen in the programme's time zone."""

    as_of: datetime
    today: date

    @classmethod
    def of(cls, as_of: datetime, uow: UnitOfWork) -> Moment:
        if as_of.tzinfo is None:
            raise ValueError("as_of must carry a time zone")
        local = as_of.astimezone(uow.config.timezone)
        return cls(as_of=local, today=local.date())

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.as_of.tzinfo).date()

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.as_of.tzinfo)
