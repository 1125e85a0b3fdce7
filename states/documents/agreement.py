"""The agreement as a document with a version: what every party accepts is its SHA-256.

The standard templates live in
``states/documents/templates/agreement/<template>.<language>.html``; a programme may name its
own template file inside the agreement templates folder instead (``{language}`` in the name is
replaced by each language; see ``states.documents.agreement_templates`` for what is allowed and
the sandbox it renders in). The text is rendered in the language the programme names binding
(``agreement.binding_language``, else the programme's language) and in the other language as
a translation, and both go into one complete HTML document (``states.documents.document``).
That document is stored byte for byte, so anyone can check an acceptance:
``sha256(document) == acceptance.sha256``; the PDF rendition (``states.documents.pdf``) carries
the same bytes inside it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path

from babel.numbers import format_decimal
from sqlalchemy import select

from models import AgreementAcceptance, AgreementDocument, Person, Placement, Programme
from models.schemas import ProgrammeIn
from states import dates
from states.documents.agreement_templates import (
    STANDARD_TEMPLATES,
    AgreementFacts,
    OrganisationFacts,
    PartyFacts,
    PlacementFacts,
    ProgrammeFacts,
    has_text_in,
    render_template,
)
from states.documents.document import compose_document, other_language
from states.errors import NotFound
from states.glossary import words
from states.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RenderedAgreement:
    template: str
    language: str
    html: str
    sha256: str


def long_date(day: date, *, language: str) -> str:
    """``1 februari 2027`` / ``1 February 2027``: dates as people write them in a contract."""
    return dates.long_date(day, language)


@lru_cache(maxsize=4096)  # pure; Babel's formatting is most of what a helper call costs
def amount(value: int, *, language: str) -> str:
    return format_decimal(value, locale=language)


def digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)  # constant per language; the template's context copies it
def _helpers(language: str) -> Mapping[str, Callable[..., str]]:
    return {
        "long_date": partial(long_date, language=language),
        "amount": partial(amount, language=language),
    }


def _party(person: Person) -> PartyFacts:
    return PartyFacts(name=person.name, email=person.email)


def binding_language(programme: Programme) -> str:
    """The language whose agreement text applies: the programme's choice, else its language."""
    return programme.agreement_binding_language or programme.language


def agreement_facts(placement: Placement, *, version: int, language: str) -> AgreementFacts:
    """The facts of ``placement`` (people, organisations, programme loaded) as plain values,
    for its text in ``language``."""
    programme = placement.programme
    return AgreementFacts(
        placement=PlacementFacts(
            reference=placement.reference,
            direction=placement.direction,
            participant=_party(placement.participant),
            home_organisation=OrganisationFacts(placement.home_organisation.name),
            home_manager=_party(placement.home_manager),
            host_organisation=OrganisationFacts(placement.host_organisation.name),
            host_contact=_party(placement.host_contact),
            start_date=placement.start_date,
            end_date=placement.end_date,
            extent_percent=placement.extent_percent,
            funding_sek=placement.funding_sek,
            purpose=placement.purpose,
            development_plan=placement.development_plan or "",
            value_for_home=placement.value_for_home,
            value_for_host=placement.value_for_host,
            student_involvement=placement.student_involvement or "",
        ),
        programme=ProgrammeFacts(
            key=programme.key,
            name=programme.name,
            language=programme.language,
            coordinator=_party(programme.coordinator),
        ),
        parties=tuple(
            (role, _party(placement.person_for_role(role))) for role in programme.agreement_parties
        ),
        version=version,
        language=language,
    )


def render_facts(template: str, facts: AgreementFacts, *, templates_dir: Path | None) -> str:
    return render_template(
        template,
        facts,
        folder=templates_dir,
        helpers=_helpers(facts.language),
        role_names=words(facts.language).role_titles,
    )


def render_texts(
    template: str, facts_in: Callable[[str], AgreementFacts], *, binding: str, folder: Path | None
) -> dict[str, str]:
    """The agreement text in ``binding`` and, where the template has one, its translation."""
    texts = {binding: render_facts(template, facts_in(binding), templates_dir=folder)}
    translation = other_language(binding)
    if has_text_in(template, language=translation, folder=folder):
        texts[translation] = render_facts(template, facts_in(translation), templates_dir=folder)
    return texts


def render_agreement(
    placement: Placement, *, version: int, templates_dir: Path | None
) -> RenderedAgreement:
    """Render the agreement for ``placement`` (people, organisations, programme loaded)."""
    programme = placement.programme
    template = programme.agreement_template
    binding = binding_language(programme)
    facts = agreement_facts(placement, version=version, language=binding)
    texts = render_texts(
        template,
        lambda language: replace(facts, language=language),  # the same facts in each language
        binding=binding,
        folder=templates_dir,
    )
    html = compose_document(
        texts=texts,
        binding=binding,
        reference=placement.reference,
        version=version,
        programme=programme.name,
    )
    return RenderedAgreement(template, binding, html, digest(html))


def _sample_facts(programme: ProgrammeIn, language: str) -> AgreementFacts:
    """A made-up placement of ``programme``, to try its template once before it is stored."""
    people = {
        "participant": PartyFacts("Deltagare Exempel", "deltagare@example.org"),
        "home_manager": PartyFacts("Chef Exempel", "chef@example.org"),
        "host_contact": PartyFacts("Kontakt Exempel", "kontakt@example.org"),
    }
    coordinator = programme.coordinator
    return AgreementFacts(
        placement=PlacementFacts(
            reference="PL-2000-0001",
            direction="incoming" if programme.direction == "incoming" else "outgoing",
            participant=people["participant"],
            home_organisation=OrganisationFacts("Hemorganisationen"),
            home_manager=people["home_manager"],
            host_organisation=OrganisationFacts("Värdorganisationen"),
            host_contact=people["host_contact"],
            start_date=date(2000, 2, 1),
            end_date=date(2000, 7, 31),
            extent_percent=20,
            funding_sek=100_000,
            purpose="Syfte",
            development_plan="Utvecklingsplan",
            value_for_home="Värde för hemorganisationen",
            value_for_host="Värde för värden",
            student_involvement="Studentmedverkan",
        ),
        programme=ProgrammeFacts(
            key=programme.key,
            name=programme.name,
            language=programme.language,
            coordinator=PartyFacts(coordinator.name, str(coordinator.email)),
        ),
        parties=tuple((role, people[role]) for role in programme.agreement.parties),
        version=1,
        language=language,
    )


def check_programme_template(programme: ProgrammeIn, *, templates_dir: Path | None) -> None:
    """Refuse (one line) a programme whose own template is outside its folder or fails to
    render a sample placement; the standard templates need no check."""
    template = programme.agreement.template
    if template not in STANDARD_TEMPLATES:
        render_texts(
            template,
            partial(_sample_facts, programme),
            binding=programme.agreement.binding_language or programme.language,
            folder=templates_dir,
        )


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
    created_at: datetime
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
            created_at=document.created_at,
            final_at=document.final_at,
            acceptances=tuple(
                Acceptance(a.role, a.accepted_at, a.sha256, a.voided_at is not None)
                for a in acceptances
            ),
        )
