"""The agreement as PDF/A-3b for the university's registry ("diariet"), rendered by WeasyPrint
from the stored HTML document.

What the parties accepted is the HTML document; its SHA-256 is stored with each acceptance.
The PDF is a rendition of it that carries it: the exact bytes are embedded in the PDF as its
source (PDF/A-3 allows an associated file), the SHA-256 is printed in every page's footer and
set as the PDF's keywords. So anyone holding only the PDF can take the HTML out of it and
check ``sha256(html) == acceptance.sha256``. The PDF's own bytes are fixed by the document:
its dates are the document's, not the clock's.

Nothing outside the document is ever loaded while rendering (no file, no network): a template
that names ``<img src="file:///etc/passwd">`` or an address inside the network gets nothing.
WeasyPrint needs Pango and HarfBuzz from the system (``make pdf-libs`` installs them); it is
imported on first use.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from states.documents.document import compose_document, is_document
from states.documents.texts import text

PDF_VARIANT = "pdf/a-3b"
MEDIA_TYPE = "application/pdf"


class ResourceRefused(ValueError):
    """An agreement names something outside itself; the PDF renders without it."""


@dataclass(frozen=True)
class AgreementPdf:
    reference: str
    version: int
    language: str
    sha256: str
    """Of the HTML document the parties accepted (embedded in the PDF)."""
    content: bytes

    @property
    def filename(self) -> str:
        return f"{self.reference}-{text('file_stem', self.language)}-v{self.version}.pdf"


def _refusing_fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class NothingOutside(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ResourceRefused(f"the agreement may not load {url[:80]!r}")

    return NothingOutside()


def _css_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _page_css(*, reference: str, version: int, language: str, sha256: str) -> str:
    footer = text("footer", language, reference=reference, version=version, sha256=sha256)
    page = text("page", language, page="{page}", pages="{pages}")
    before, _, rest = page.partition("{page}")
    middle, _, after = rest.partition("{pages}")
    counters = (
        f"{_css_string(before)} counter(page) {_css_string(middle)} counter(pages) "
        f"{_css_string(after)}"
    )
    small = 'font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 7pt;'
    return (
        "@page { @bottom-left { content: "
        f"{_css_string(footer)}; {small} color: #4a4a4a; width: 80%; }} "
        f"@bottom-right {{ content: {counters}; {small} color: #4a4a4a; }} }}"
    )


def _pdf_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=16)
def _render(
    html: str, reference: str, version: int, language: str, created: datetime
) -> AgreementPdf:
    from weasyprint import CSS, HTML, Attachment

    # The document's screen-only rule (a media query WeasyPrint does not read) is meant to be
    # ignored in print; its warning for every PDF would flood the delivery's log.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    sha256 = hashlib.sha256(html.encode("utf-8")).hexdigest()
    # A fragment stored before documents were complete is shown in the document's frame; the
    # bytes embedded and hashed stay the fragment's own.
    shown = (
        html
        if is_document(html)
        else compose_document(
            texts={language: html},
            binding=language,
            reference=reference,
            version=version,
            programme="",
        )
    )
    fetcher = _refusing_fetcher()
    document = HTML(string=shown, url_fetcher=fetcher, base_url="about:blank").render(
        stylesheets=[
            CSS(
                string=_page_css(
                    reference=reference, version=version, language=language, sha256=sha256
                ),
                url_fetcher=fetcher,
            )
        ],
    )
    stamp = _pdf_date(created)
    document.metadata.created = stamp
    document.metadata.modified = stamp
    document.metadata.keywords = [f"sha256:{sha256}", reference, f"version {version}"]
    document.metadata.generator = "Mobility Engine"
    source = Attachment(
        string=html,
        name=f"{reference}-v{version}.html",
        description=text("embedded", language, sha256=sha256),
        created=created,
        modified=created,
        relationship="Source",
    )
    content = document.write_pdf(pdf_variant=PDF_VARIANT, attachments=[source])
    return AgreementPdf(reference, version, language, sha256, content)


def agreement_pdf(
    *, html: str, reference: str, version: int, language: str, created: datetime
) -> AgreementPdf:
    """The PDF/A-3b rendition of the stored agreement ``html`` (the same input gives the same
    bytes; the last few are kept, for the confirmation that goes to every party)."""
    return _render(html, reference, version, language, created)
