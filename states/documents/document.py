"""The agreement as one complete HTML5 document: the text in the binding language and its
translation beside it, each marked with its language, a note in both languages on which one is
binding, and the document's own style, so it reads the same opened from disk, printed or
rendered as PDF. What is stored (and hashed) is this document, byte for byte.

Documents stored before this were the agreement text alone (an ``<article>`` fragment): they
keep their bytes and their SHA-256; ``agreement_body`` shows either kind on a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from states.documents.texts import language_name, text
from states.glossary import LANGUAGES

TEMPLATES_DIR = Path(__file__).parent / "templates"
DOCTYPE = "<!DOCTYPE html>"
_BODY_START = "<body>\n"
_BODY_END = "</body>"


def other_language(language: str) -> str:
    return next(candidate for candidate in LANGUAGES if candidate != language)


@dataclass(frozen=True)
class DocumentPart:
    kind: str
    """``binding`` or ``translation``."""
    language: str
    label: str
    html: Markup


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Our own shell: the agreement texts come into it already rendered (and escaped) by the
    # sandbox; the shell's own values are escaped here.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the shell ships with the code: no stat() per agreement
    )


@lru_cache(maxsize=8)  # constant per binding language; the template only reads it
def _notes(binding: str, translated: bool) -> tuple[Mapping[str, str], ...]:
    notes = []
    for language in (binding, other_language(binding)):
        values = {
            "binding": language_name(binding, written_in=language),
            "translation": language_name(other_language(binding), written_in=language),
        }
        notes.append(
            {
                "language": language,
                "text": text("bilingual" if translated else "single", language, **values),
            }
        )
    return tuple(notes)


def compose_document(
    *,
    texts: Mapping[str, str],
    binding: str,
    reference: str,
    version: int,
    programme: str,
) -> str:
    """The complete document around ``texts`` (language → rendered agreement text); the text
    in ``binding`` comes first and is the one that applies."""
    parts = [
        DocumentPart("binding", binding, text("binding_label", binding), Markup(texts[binding]))
    ]
    translation = other_language(binding)
    if translation in texts:
        parts.append(
            DocumentPart(
                "translation",
                translation,
                text("translation_label", translation),
                Markup(texts[translation]),
            )
        )
    title = text("title", binding, reference=reference, version=version)
    return (
        _environment()
        .get_template("document.html")
        .render(
            binding=binding,
            title=f"{title} – {programme}" if programme else title,
            notes=_notes(binding, translated=len(parts) > 1),
            texts=parts,
        )
    )


def is_document(html: str) -> bool:
    """A complete document (this module's), not a fragment stored before it."""
    return html.startswith(DOCTYPE)


def agreement_body(html: str) -> str:
    """What a page shows of a stored agreement: the document's body, or a fragment whole."""
    if not is_document(html):
        return html
    start = html.index(_BODY_START) + len(_BODY_START)
    return html[start : html.rindex(_BODY_END)]
