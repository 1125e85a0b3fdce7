"""Dates and amounts as people read them: one Babel locale per language, used by emails, pages
and agreements alike ("1 februari 2027" / "1 February 2027", "2 400 000 kr" / "SEK 2,400,000")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal

# British English writes "1 February 2027"; plain "en" would give the American order.
BABEL_LOCALES: Mapping[str, str] = {"sv": "sv_SE", "en": "en_GB"}


def long_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=BABEL_LOCALES.get(language, language))


def amount_sek(value: int, language: str) -> str:
    """Swedish kronor: "2 400 000 kr" in Swedish, "SEK 2,400,000" in English."""
    number = format_decimal(value, locale=BABEL_LOCALES.get(language, language))
    # A no-break space: the amount and its currency stay on one line.
    return f"SEK\u00a0{number}" if language == "en" else f"{number}\u00a0kr"
