"""The agreement document's own words around the agreement text, in Swedish and English: which
language is binding, what each text is, and the PDF's footer. The parties' roles come from the
glossary (``states.glossary``); the agreement text itself from its template."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGE_NAMES: Mapping[str, Mapping[str, str]] = {
    # a language (key) named in a language (inner key): "på svenska", "den svenska texten",
    # "written in Swedish", "the Swedish text"
    "sv": {"sv": "svenska", "en": "Swedish"},
    "en": {"sv": "engelska", "en": "English"},
}

TEXTS: Mapping[str, Mapping[str, str]] = {
    "title": {
        "sv": "Avtal {reference}, version {version}",
        "en": "Agreement {reference}, version {version}",
    },
    "bilingual": {
        "sv": "Avtalet finns på svenska och engelska. Den {binding} texten är bindande; den "
        "{translation} texten är en översättning.",
        "en": "This agreement is written in Swedish and English. The {binding} text is binding; "
        "the {translation} text is a translation.",
    },
    "single": {
        "sv": "Avtalet finns bara på {binding}.",
        "en": "This agreement is written in {binding} only.",
    },
    "binding_label": {"sv": "Bindande text (svenska)", "en": "Binding text (English)"},
    "translation_label": {
        "sv": "Översättning till svenska",
        "en": "Translation into English",
    },
    "footer": {
        "sv": "{reference} · version {version} · SHA-256 för det godkända dokumentet: {sha256}",
        "en": "{reference} · version {version} · SHA-256 of the accepted document: {sha256}",
    },
    "file_stem": {"sv": "avtal", "en": "agreement"},
    "page": {"sv": "Sida {page} av {pages}", "en": "Page {page} of {pages}"},
    "embedded": {
        "sv": "Avtalet som parterna godkände, byte för byte (dess SHA-256 är {sha256})",
        "en": "The agreement the parties accepted, byte for byte (its SHA-256 is {sha256})",
    },
}


def text(key: str, language: str, **values: object) -> str:
    return TEXTS[key][language].format(**values)


def language_name(language: str, *, written_in: str) -> str:
    return LANGUAGE_NAMES[language][written_in]
