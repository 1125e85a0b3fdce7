"""Dates as people read them: one Babel locale per language, used by emails, pages and
agreements alike ("1 februari 2027" / "1 February 2027")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from babel.dates import format_date

# British English writes "1 February 2027"; plain "en" would give the American order.
BABEL_LOCALES: Mapping[str, str] = {"sv": "sv_SE", "en": "en_GB"}


def long_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=BABEL_LOCALES.get(language, language))
