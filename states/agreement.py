"""The agreement as a document with a version: what every party accepts is its SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from models import Placement

TEMPLATE_DIR = Path(__file__).parent / "templates" / "agreement"
STANDARD_TEMPLATES = ("affiliation", "secondment")


@dataclass(frozen=True)
class RenderedAgreement:
    template: str
    language: str
    html: str
    sha256: str


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _load(template: str, language: str) -> jinja2.Template:
    if template in STANDARD_TEMPLATES:
        return _environment().get_template(f"{template}.{language}.html")
    path = Path(template)
    return _environment().from_string(path.read_text(encoding="utf-8"))


def render_agreement(placement: Placement, *, version: int) -> RenderedAgreement:
    """Render the agreement for ``placement`` (people, organisations, programme loaded)."""
    programme = placement.programme
    language = programme.language
    html = _load(programme.agreement_template, language).render(
        placement=placement,
        programme=programme,
        version=version,
        parties=[(role, placement.person_for_role(role)) for role in programme.agreement_parties],
    )
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    return RenderedAgreement(programme.agreement_template, language, html, digest)
