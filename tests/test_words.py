"""What people read: every email kind and every link page, in both languages, for every role
that receives it, read as text (what a mail client or a browser shows) and checked for

- an internal key ("manager_approval", "home_manager") anywhere, an English glossary word or a
  bare English key ("agreement") in Swedish text, a Swedish glossary word in English text;
- a coordinator told to contact the coordinator, or thanked for taking part;
- a word the glossary does not use for its concept ("mejl", "koordinator", "av heltid",
  "drogs tillbaka", "Skäl:"…: ``states.glossary`` ``NOT_OURS``);
- an answers page or email (check-in, evaluation) saying you decide with a button.

What people typed (names, organisations, the purpose, comments) is taken out of the text
before it is read: those words are theirs, in whatever language they wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from models import OutboxMessage
from notifications.render import KINDS, render_message
from states.bootstrap import App
from states.glossary import GLOSSARIES, LANGUAGES
from states.lifecycle.evaluation import Question
from states.lifecycle.loading import load_for_update
from states.lifecycle.machine import EVENTS, STATES
from states.lifecycle.outbox import mint_link, queue_message
from states.lifecycle.policy import Recipient
from states.lifecycle.steps import STEPS
from states.links.pages import (
    AgreementView,
    CoApprover,
    LinkOutcome,
    LinkView,
    PlacementFacts,
)
from states.links.status import LIVE, LinkStatus
from tests.conftest import propose_example
from tests.test_glossary import product_strings, product_templates

ROLES = ("participant", "home_manager", "host_contact", "coordinator")
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
COMMENT = "Zqx-comment-text"


# --- reading text as people see it -------------------------------------------------------------


class _Visible(HTMLParser):
    """The text a browser shows: no tags, attributes, styles or the head's title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def _words_of(language: str) -> set[str]:
    glossary = GLOSSARIES[language]
    tables = ("states", "roles", "roles_definite", "role_titles", "events", "decisions")
    found = {w.casefold() for t in tables for w in getattr(glossary, t).values()}
    found |= {w.casefold() for w in glossary.outcomes.values()}
    return found


SWEDISH_WORDS = _words_of("sv")
ENGLISH_WORDS = _words_of("en")
SHARED = SWEDISH_WORDS & ENGLISH_WORDS
STEP_KEYS = {s.name for s in STEPS} | {s.purpose for s in STEPS}
ENGLISH_KEYS = (set(STATES) | set(EVENTS) | STEP_KEYS | set(ROLES)) - {"accept", "end"}
FOREIGN = {
    "sv": (ENGLISH_WORDS | ENGLISH_KEYS) - SHARED,
    "en": SWEDISH_WORDS - SHARED,
}
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
URL = re.compile(r"https?://\S+|mailto:\S+")
NOT_A_WORD = re.compile(r"[^\w%-]+")


@dataclass(frozen=True)
class Reading:
    where: str
    language: str
    text: str
    role: str = ""


def problems(reading: Reading, typed: set[str], coordinator: tuple[str, str]) -> list[str]:
    """Everything wrong with what ``reading`` says, in words."""
    text = URL.sub(" ", reading.text)
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, " ")
    found = [f"internal key {key!r}" for key in SNAKE_CASE.findall(text)]
    lowered = " " + NOT_A_WORD.sub(" ", text.casefold()) + " "
    for word in FOREIGN[reading.language]:
        if f" {word} " in lowered:
            found.append(f"{word!r} is not {reading.language}")
    not_ours = GLOSSARIES[reading.language].words_not_ours(text)
    found += [f"not the glossary's: {word}" for word in not_ours]
    if reading.role == "coordinator":
        name, email = coordinator
        if email in reading.text or re.search(rf"(Kontakta|Contact)[^.]*{name}", reading.text):
            found.append("the coordinator is told to contact the coordinator")
        if re.search(r"tack för din medverkan|thank you for taking part", text, re.IGNORECASE):
            found.append("the coordinator is thanked for taking part")
    return [f"{reading.where}: {problem}" for problem in found]


# --- every email kind, for every role, in both languages ---------------------------------------

LINK_PURPOSE = {
    **{step.request: step.purpose for step in STEPS},
    **{step.reminder: step.purpose for step in STEPS if step.reminder},
}
VARIANTS: dict[str, list[dict[str, str]]] = {
    "decision_notice": [{"to_state": "declined"}, {"to_state": "agreement"}],
    "completion_notice": [{"event": "answer"}, {"event": "close"}],
    "agreement_request": [{"event": "approve"}, {"event": "amend"}],
}
CASES = [
    {
        "reference": "PL-2027-0001",
        "programme": "Affilierad kompetens 2027",
        "state": state,
        "step": step,
        "waiting_since": "2026-12-01",
        "business_days": 9,
        "waiting_for": [{"name": "Eva Holm", "role": role, "email": "eva.holm@verktyg.example"}],
    }
    for state, step, role in (
        ("manager_approval", "approval", "home_manager"),
        ("agreement", "agreement", "participant"),
        ("evaluation", "evaluation", "host_contact"),
    )
]


def _queue_every_kind_for_every_role(app: App, reference: str) -> None:
    with app.uow() as uow:
        placement = load_for_update(uow.session, reference)
        coordinator = placement.programme.coordinator
        for language in LANGUAGES:
            for kind in sorted(KINDS):
                digest = kind == "escalation_digest"
                for role in ("coordinator",) if digest else ROLES:
                    person = (
                        coordinator if role == "coordinator" else placement.person_for_role(role)
                    )
                    token = None
                    if kind in LINK_PURPOSE:
                        token = mint_link(
                            uow,
                            placement=placement,
                            recipient=Recipient(person, role, 1),
                            purpose=LINK_PURPOSE[kind],
                            now=NOW,
                        )
                        uow.session.flush()
                    for variant in VARIANTS.get(kind, [{}]):
                        queue_message(
                            uow,
                            kind=kind,
                            person=person,
                            placement=None if digest else placement,
                            now=NOW,
                            token=token,
                            language=language,
                            context={
                                "recipient_role": role,
                                "role": "host_contact",
                                "to_state": placement.state,
                                "event": "answer",
                                "comment": COMMENT,
                                "number": 2,
                                "cases": CASES if digest else [],
                                **variant,
                            },
                        )
        uow.commit()


def _typed(app: App, reference: str) -> set[str]:
    """What people typed into the placement: names, organisations, texts, addresses."""
    with app.reading() as uow:
        p = load_for_update(uow.session, reference, lock=False)
        people = (p.participant, p.home_manager, p.host_contact, p.programme.coordinator)
        values = {
            p.reference,
            p.programme.name,
            p.home_organisation.name,
            p.host_organisation.name,
            p.purpose,
            p.development_plan,
            p.value_for_home,
            p.value_for_host,
            p.student_involvement,
            COMMENT,
            "Affilierad kompetens 2027",
            *(person.name for person in people),
            *(person.email for person in people),
        }
    return {v for v in values if v}


def rendered_emails(app: App, reference: str) -> Iterator[tuple[OutboxMessage, Reading, str]]:
    with app.reading() as uow:
        before = uow.session.scalar(select(func.max(OutboxMessage.id))) or 0
    _queue_every_kind_for_every_role(app, reference)
    with app.reading() as uow:
        rows = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id > before).order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            message = render_message(
                uow.session,
                row,
                minter=app.config.minter,
                base_url="https://mobility.example.org",
                mail_from=app.settings.mail_from,
                timezone=app.config.timezone,
            )
            parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
            text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
            role = str((row.context or {}).get("recipient_role"))
            where = f"{row.kind} to the {role} ({row.language}, {(row.context or {})})"
            body = f"{parsed['Subject']}\n{text}\n{visible(html)}"
            yield row, Reading(where, row.language, body, role), html


def test_every_email_kind_reads_right_for_every_role_in_both_languages(examples: App) -> None:
    reference = propose_example(examples)
    typed = _typed(examples, reference)
    coordinator = ("Sara Lind", "sara.lind@univ.example")
    found: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for row, reading, _html in rendered_emails(examples, reference):
        found += problems(reading, typed, coordinator)
        seen.add((row.kind, row.language, reading.role))
        answers = LINK_PURPOSE.get(row.kind) in ("evaluation", "checkin")
        if answers and re.search(r"bestämmer med en knapp|decide with a button", reading.text):
            found.append(f"{reading.where}: an answers link says you decide with a button")
    assert found == []
    expected = {
        (kind, language, role)
        for kind in KINDS
        for language in LANGUAGES
        for role in (("coordinator",) if kind == "escalation_digest" else ROLES)
    }
    assert seen == expected


# --- every page, for every role, in both languages --------------------------------------------


def _facts() -> PlacementFacts:
    return PlacementFacts(
        reference="PL-2027-0001",
        state="manager_approval",
        programme_name="Affilierad kompetens 2027",
        participant_name="Daniel Åberg",
        home_organisation="Verktyg & Precision AB",
        home_manager_name="Eva Holm",
        host_organisation="Institutionen för maskinteknik",
        host_contact_name="Jan Berg",
        start=date(2027, 2, 1),
        end=date(2027, 7, 30),
        extent_percent=20,
        purpose="Zqx-purpose",
        development_plan="Zqx-plan",
        value_for_home="Zqx-home",
        value_for_host="Zqx-host",
        student_involvement="",
        coordinator_name="Sara Lind",
        coordinator_email="sara.lind@univ.example",
        funding_sek=150_000,
    )


PAGE_TYPED = {
    "PL-2027-0001",
    "Affilierad kompetens 2027",
    "Daniel Åberg",
    "Verktyg & Precision AB",
    "Eva Holm",
    "Institutionen för maskinteknik",
    "Jan Berg",
    "Sara Lind",
    "sara.lind@univ.example",
    "Zqx-purpose",
    "Zqx-plan",
    "Zqx-home",
    "Zqx-host",
    COMMENT,
    "Igen?",
}


def _view(language: str, purpose: str, role: str, status: LinkStatus = LIVE) -> LinkView:
    others = (
        (
            CoApprover("host_contact", "Jan Berg", "approved", NOW, COMMENT),
            CoApprover("participant", "Daniel Åberg", None, None, None),
        )
        if purpose == "approval"
        else ()
    )
    return LinkView(
        token_id=1,
        purpose=purpose,
        role=role,
        person_name="Eva Holm",
        language=language,
        placement=_facts(),
        status=status,
        agreement=AgreementView(1, "0" * 64, "<p>Avtalet</p>") if purpose == "agreement" else None,
        questions=(Question("q", "yesno", "Igen?", required=True),),
        decision_comment=COMMENT,
        co_approvers=others,
    )


def _pages(app: App) -> Iterator[Reading]:
    from web.app import GONE_TEXTS, NEXT_TEXTS, Pages

    pages = Pages(app)

    def read(where: str, language: str, body: bytes | memoryview, role: str = "") -> Reading:
        return Reading(where, language, visible(bytes(body).decode("utf-8")), role)

    for language in LANGUAGES:
        for step in STEPS:
            for role in ROLES[:3]:
                page = pages.step(_view(language, step.purpose, role))
                yield read(f"{step.purpose} page for the {role} ({language})", language, page.body)
        for reason, detail in GONE_TEXTS:
            status = LinkStatus(reason, NOW, detail)
            page = pages.gone(_view(language, "approval", "home_manager", status))
            yield read(f"gone {reason}/{detail} ({language})", language, page.body)
        for decision, state in NEXT_TEXTS:
            view = _view(language, "approval", "home_manager")
            page = pages.outcome(LinkOutcome("done", view, decision=decision, to_state=state), {})
            yield read(f"done {decision}/{state} ({language})", language, page.body)


def test_every_page_reads_right_in_both_languages(examples: App) -> None:
    found: list[str] = []
    for reading in _pages(examples):
        found += problems(reading, PAGE_TYPED, ("Sara Lind", "sara.lind@univ.example"))
        if reading.where.startswith(("evaluation", "checkin")) and re.search(
            r"bestämmer med en knapp|decide with a button", reading.text
        ):
            found.append(f"{reading.where}: an answers page says you decide with a button")
    assert found == []


def test_the_error_pages_for_people_we_do_not_know_hold_both_languages(examples: App) -> None:
    from web.app import Pages

    pages = Pages(examples)
    for page in (pages.not_found(), pages.server_error(), pages.too_large()):
        html = bytes(page.body).decode("utf-8")
        swedish, _, english = html.partition('<div lang="en">')
        for language, part in (("sv", swedish), ("en", english)):
            reading = Reading(f"error {page.status_code} ({language})", language, visible(part))
            assert problems(reading, set(), ("", "@")) == []


# --- no product text holds a word the glossary does not use -----------------------------------


SWEDISH = re.compile(r"[åäöÅÄÖ]")
CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{[a-z_]*\}|<[^>]*>", re.DOTALL)
"""Template tags, placeholders and markup: names, not words anyone reads."""


def languages_of(where: str, text: str) -> tuple[str, ...]:
    """The languages a product text may be in: a template's own (``kind.sv.txt``); a string
    with å, ä or ö may be Swedish; anything may be English."""
    for language in LANGUAGES:
        if f".{language}." in where:
            return (language,)
    return ("sv", "en") if SWEDISH.search(text) else ("en",)


def test_no_product_string_or_template_holds_a_word_the_glossary_does_not_use() -> None:
    found = [
        f"{where}: {word}"
        for where, text in (*product_strings(), *product_templates())
        for language in languages_of(where, text)
        for word in GLOSSARIES[language].words_not_ours(CODE.sub(" ", text))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("sv", "Nästa steg: varje part får ett eget mejl.", "not the glossary's"),
        ("sv", "Frågor? Kontakta programmets koordinator.", "not the glossary's"),
        ("sv", "Omfattning: 20 % av heltid", "not the glossary's"),
        ("sv", "Placeringen drogs tillbaka 2 december 2026.", "not the glossary's"),
        ("sv", "Skäl: ingen tid", "not the glossary's"),
        ("sv", "PL-2027-0001: under avtalsskrivning, agreement", "'agreement' is not sv"),
        ("sv", "Väntar på chefen, home_manager", "internal key 'home_manager'"),
        ("sv", "Placeringen är approved", "'approved' is not sv"),
        ("en", "The placement is godkänd", "'godkänd' is not en"),
        ("en", "Extent: 20 % of full time", "not the glossary's"),
    ],
)
def test_the_reading_notices_each_kind_of_wrong_word(
    language: str, text: str, expected: str
) -> None:
    found = problems(Reading("x", language, text), set(), ("Sara Lind", "sara@x.example"))
    assert any(expected in problem for problem in found), found


def test_the_reading_notices_a_coordinator_told_to_contact_themselves() -> None:
    reading = Reading(
        "x", "sv", "Hej Sara Lind! Frågor? Kontakta Sara Lind, sara@x.example.", "coordinator"
    )
    found = problems(reading, set(), ("Sara Lind", "sara@x.example"))
    assert any("told to contact the coordinator" in problem for problem in found)
    thanked = Reading("x", "sv", "Placeringen är avslutad. Tack för din medverkan!", "coordinator")
    assert any("thanked" in p for p in problems(thanked, set(), ("Sara Lind", "sara@x.example")))
