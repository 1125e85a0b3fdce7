"""Text people typed, made safe: cleaned once where it comes in, escaped where Markdown goes out.

Names, emails, organisations and keys end up in email headers, page titles and CLI tables, so
they are one line: control characters (C0, C1, DEL) and line or paragraph separators become a
space. Free text (purpose, comments, answers) keeps its line breaks (``\\n``; CR/LF and CR are
read as ``\\n``) and tabs. Both lose every format character (Unicode category Cf: the bidi
controls U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C, the zero-width U+200B–U+200D,
U+2060 and U+FEFF, soft hyphens, tags...) and lone surrogates (Cs), which no database stores.
A right-to-left override would otherwise show ``Anna‮gpj.exe`` as ``Annaexe.jpg``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_LINE_BREAKS = re.compile(r"\r\n?|[\x85\u2028\u2029]")
_REMOVED = frozenset({"Cf", "Cs"})
_SPACED = frozenset({"Cc", "Zl", "Zp"})


def _without(value: str, keep: str) -> str:
    """``value`` with format characters removed and other controls (but ``keep``) spaced."""
    if value.isprintable():  # the common case, in C: nothing to do
        return value
    out = []
    for char in value:
        category = unicodedata.category(char)
        if char in keep or (category not in _REMOVED and category not in _SPACED):
            out.append(char)
        elif category in _SPACED:
            out.append(" ")
    return "".join(out)


def single_line(value: str) -> str:
    """A name, email, organisation or key: one line, no control or format characters, runs
    of white space as one space, trimmed."""
    return " ".join(_without(value, "").split())


def free_text(value: str) -> str:
    """Free text: line breaks as ``\\n`` and tabs kept, other controls a space, format
    characters gone, trimmed."""
    return _without(_LINE_BREAKS.sub("\n", value), "\n\t").strip()


def clean_single_line(value: Any) -> Any:
    """``single_line`` for pydantic's before-validators: anything but text passes unchanged."""
    return single_line(value) if isinstance(value, str) else value


def clean_free_text(value: Any) -> Any:
    return free_text(value) if isinstance(value, str) else value


# What Markdown (CommonMark, GitHub's, Prefect's) reads as syntax inside a line: code, emphasis,
# links and images, table cells, strikethrough, math, entities. Each gets a backslash; an
# underscore only where it could open or close emphasis (``going_well`` stays as it is). < and >
# become entities, so no renderer, not even one that passes raw HTML through, sees a tag.
_MARKDOWN_SYNTAX = re.compile(r"[\\`*\[\]|~&$]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def markdown_text(value: object) -> str:
    """``value`` as literal text on one line of Markdown: a table cell, a heading, a sentence."""
    escaped = _MARKDOWN_SYNTAX.sub(lambda m: "\\" + m.group(0), single_line(str(value)))
    return escaped.replace("<", "&lt;").replace(">", "&gt;")
