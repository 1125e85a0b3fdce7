"""Swedish business days: weekdays that are neither public holidays nor the eves offices
close on (midsummer, Christmas and New Year's eves)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _closed_days(year: int) -> frozenset[date]:
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
