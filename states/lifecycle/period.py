"""A placement's period as people read it: "1 februari–30 juli 2027", "till och med 30 juli",
includes both days. A placement has started on its first day and has ended only once its
last day is over: the evaluation begins the day after.

The machine's guards (Python) and the sweep's queries (SQL) read the rule here, once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement

from models import Placement


def has_started(start: date, today: date) -> bool:
    return today >= start


def has_ended(end: date, today: date) -> bool:
    """The last day is a day of the placement: it has ended the day after."""
    return today > end


def started_by(today: date) -> ColumnElement[bool]:
    """``has_started`` in SQL."""
    return Placement.start_date <= today


def ended_by(today: date) -> ColumnElement[bool]:
    """``has_ended`` in SQL."""
    return Placement.end_date < today
