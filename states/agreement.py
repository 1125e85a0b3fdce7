"""The agreement as a document with a version: what every party accepts is its SHA-256.

The standard templates live in ``states/templates/agreement/<template>.<language>.html``; a
programme may name its own template file instead (a path; ``{language}`` in it is replaced by
the agreement's language). The rendered HTML is stored byte for byte, so anyone can check an
acceptance: ``sha256(document) == acceptance.sha256``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path

import jinja2
from babel.numbers import format_decimal
from sqlalchemy import select

from models import AgreementAcceptance, AgreementDocument, Placement
from states import dates
from states.errors import NotFound
from states.unit_of_work import UnitOfWork

TEMPLATE_DIR = Path(__file__).parent / "templates" / "agreement"
STANDARD_TEMPLATES = ("affiliation", "secondment")

ROLE_NAMES: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "participant": "Deltagare",
        "home_manager": "Hemorganisationens chef",
        "host_contact": "Värdens kontaktperson",
    },
    "en": {
        "participant": "Participant",
        "home_manager": "Home manager",
        "host_contact": "Host contact",
    },
}


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
    path = Path(template.replace("{language}", language)).expanduser()
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        raise NotFound(
            f"agreement template {path} cannot be read; name a standard template "
            f"({', '.join(STANDARD_TEMPLATES)}) or an existing HTML file"
        ) from None
    return _environment().from_string(source)


def long_date(day: date, *, language: str) -> str:
    """``1 februari 2027`` / ``1 February 2027``: dates as people write them in a contract."""
    return dates.long_date(day, language)


def amount(value: int, *, language: str) -> str:
    return format_decimal(value, locale=language)


def digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def render_agreement(placement: Placement, *, version: int) -> RenderedAgreement:
    """Render the agreement for ``placement`` (people, organisations, programme loaded)."""
    programme = placement.programme
    language = programme.language
    html = _load(programme.agreement_template, language).render(
        placement=placement,
        programme=programme,
        version=version,
        language=language,
        parties=[(role, placement.person_for_role(role)) for role in programme.agreement_parties],
        role_names=ROLE_NAMES[language],
        long_date=partial(long_date, language=language),
        amount=partial(amount, language=language),
    )
    return RenderedAgreement(programme.agreement_template, language, html, digest(html))


@dataclass(frozen=True)
class Acceptance:
    role: str
    accepted_at: datetime | None
    sha256: str | None
    void: bool


@dataclass(frozen=True)
class StoredAgreement:
    """One stored version of a placement's agreement and where its acceptances stand."""

    reference: str
    version: int
    template: str
    language: str
    sha256: str
    html: str
    final_at: datetime | None
    acceptances: tuple[Acceptance, ...]


def current_agreement(uow: UnitOfWork, *, reference: str) -> StoredAgreement:
    """The final agreement if there is one, else the latest version waiting for acceptance."""
    with uow:
        session = uow.session
        placement = session.scalars(
            select(Placement).where(Placement.reference == reference)
        ).one_or_none()
        if placement is None:
            raise NotFound(f"no placement with reference {reference}")
        documents = session.scalars(
            select(AgreementDocument)
            .where(AgreementDocument.placement_id == placement.id)
            .order_by(AgreementDocument.version.desc())
        ).all()
        if not documents:
            raise NotFound(
                f"{reference} has no agreement yet: it is written when every manager has approved"
            )
        document = next((d for d in documents if d.final_at is not None), documents[0])
        acceptances = session.scalars(
            select(AgreementAcceptance)
            .where(AgreementAcceptance.document_id == document.id)
            .order_by(AgreementAcceptance.id)
        ).all()
        return StoredAgreement(
            reference=reference,
            version=document.version,
            template=document.template,
            language=document.language,
            sha256=document.sha256,
            html=document.content_html,
            final_at=document.final_at,
            acceptances=tuple(
                Acceptance(a.role, a.accepted_at, a.sha256, a.voided_at is not None)
                for a in acceptances
            ),
        )
