"""Dates and amounts as people read them: one Babel locale per language, used by emails, pages
and agreements alike ("1 februari 2027" / "1 February 2027", "2 400 000 kr" / "SEK 2,400,000")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_currency

# British English writes "1 February 2027"; plain "en" would give the American order.
BABEL_LOCALES: Mapping[str, str] = {"sv": "sv_SE", "en": "en_GB"}


# Both are pure and Babel's formatting is a tenth of a link page's rendering: a page, an email
# batch or a report writes the same few dates and amounts again and again.
@lru_cache(maxsize=4096)
def long_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=BABEL_LOCALES.get(language, language))


@lru_cache(maxsize=4096)
def amount_sek(value: int, language: str) -> str:
    """Swedish kronor: "2 400 000 kr" in Swedish, "SEK 2,400,000" in English."""
    # A no-break space: the amount and its currency stay on one line.
    pattern = "#,##0\u00a0¤" if language == "sv" else "¤\u00a0#,##0"
    return format_currency(
        value,
        "SEK",
        format=pattern,
        currency_digits=False,
        locale=BABEL_LOCALES.get(language, language),
    )
