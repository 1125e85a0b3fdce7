"""One glossary per language (``states.glossary``) holds every word for a state, a role, an
event, a decision and what a decision recorded; no other module or template spells them.

Three checks: the glossaries cover the same keys and every key the product uses; no product
string or template text *is* a glossary word (a label, a subject prefix, a table value) outside
the glossary, and no other table maps those keys to words; and every email kind and every link
page, rendered in both languages with a marked glossary, shows only marked words.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import ActionToken, OutboxMessage
from notifications.render import KINDS, render_message
from states import glossary
from states.bootstrap import App
from states.glossary import GLOSSARIES, LANGUAGES, Words, en, sv
from states.lifecycle.evaluation import Question
from states.lifecycle.loading import load_for_update
from states.lifecycle.machine import EVENTS, STATES
from states.lifecycle.outbox import queue_message
from states.lifecycle.steps import STEPS
from states.links.pages import AgreementView, LinkOutcome, LinkView, PlacementFacts
from states.links.status import LIVE, LinkStatus
from tests.conftest import propose_example

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("cli", "config", "flows", "models", "notifications", "reporting", "states", "web")
GLOSSARY_DIR = ROOT / "states" / "glossary"
ROLES = ("participant", "home_manager", "host_contact", "coordinator")
TABLES = (
    "states",
    "state_titles",
    "roles",
    "roles_definite",
    "role_titles",
    "events",
    "event_titles",
    "decisions",
    "outcomes",
)

# Where a product string may be a glossary word without being the glossary's word, with why:
# (file, word) → reason. None is needed today.
ALLOWED: dict[tuple[str, str], str] = {}


def every_word() -> set[str]:
    return {
        word.casefold()
        for words in GLOSSARIES.values()
        for table in TABLES
        for word in getattr(words, table).values()
    }


# A label stands alone: between tags, template tags, line ends, a colon or semicolon, or at the
# end of a sentence. Prose that contains the word is a sentence: the wording issue's business.
SEGMENTS = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<[^>]*>|\{[^{}]*\}|[\n\t:;]|\.(?=\s|$)", re.DOTALL
)


def segments(text: str) -> Iterator[str]:
    for piece in SEGMENTS.split(text):
        piece = piece.strip(" \u00a0*-–·()!?\"'").casefold()
        if piece:
            yield piece


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def product_strings() -> Iterator[tuple[str, str]]:
    """(file, text) of every string in product code that is text, not a name: docstrings
    and identifiers (``"home_manager"``, a key) are left out."""
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if GLOSSARY_DIR in path.parents or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = _docstrings(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                    and not node.value.isidentifier()
                ):
                    yield str(path.relative_to(ROOT)), node.value


def product_templates() -> Iterator[tuple[str, str]]:
    for path in sorted(ROOT.glob("*/**/templates/**/*")):
        if path.is_file() and path.suffix in (".html", ".txt") and ".venv" not in path.parts:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def spelled_outside(texts: Iterable[tuple[str, str]], words: set[str]) -> list[str]:
    return [
        f"{where}: {segment!r}"
        for where, text in texts
        for segment in segments(text)
        if segment in words and (where, segment) not in ALLOWED
    ]


# --- the glossaries -----------------------------------------------------------------------


def test_both_languages_name_the_same_things_and_everything_the_product_names() -> None:
    for table in TABLES:
        assert set(getattr(GLOSSARIES["sv"], table)) == set(getattr(GLOSSARIES["en"], table))
    words = GLOSSARIES["sv"]
    assert set(words.states) == set(words.state_titles) == set(STATES)
    assert set(words.events) == set(words.event_titles) == set(EVENTS)
    assert set(words.roles) == set(words.roles_definite) == set(words.role_titles) == set(ROLES)
    assert set(words.decisions) == {d for step in STEPS for d in step.decisions}
    assert set(words.outcomes) == {o for step in STEPS for o in step.decisions.values()}
    assert sv.STATES is words.states and en.STATES is GLOSSARIES["en"].states


def test_refusals_keep_the_machine_readable_shape() -> None:
    """The CLI's refusals read "<ref> is <state>; it cannot be <event> now"."""
    english = GLOSSARIES["en"]
    assert all(re.fullmatch(r"[a-z ]+", w) for w in (*english.states.values(),))
    assert all(re.fullmatch(r"[a-z ]+", w) for w in english.events.values())


# --- nowhere else -------------------------------------------------------------------------


def test_no_product_code_or_template_spells_a_glossary_word() -> None:
    words = every_word()
    found = spelled_outside(product_strings(), words)
    found += spelled_outside(product_templates(), words)
    assert found == []


def test_the_scan_notices_a_word_spelled_elsewhere() -> None:
    words = every_word()
    copies = [
        ("x.py", "avslagen"),
        ("x.py", "Host contact"),
        ("x.txt", "{% block subject %}Återkallad: placering {{ p.reference }}{% endblock %}"),
        ("x.html", "<dt>Deltagare</dt><dd>{{ name }}</dd>"),
        ("x.py", "waiting for manager approval"),
    ]
    assert len(spelled_outside(copies, words)) == len(copies)
    prose = [("x.txt", "Du kan godkänna, avslå (med motivering) eller begära ändringar.")]
    assert spelled_outside(prose, words) == []


KEYS = set(STATES) | set(EVENTS) | set(ROLES)


def _is_words(value: ast.AST) -> bool:
    """A value that is words for people: a map of languages to texts, or a text that is no
    code (``"pipeline"``: lowercase ASCII with underscores) and holds no placeholder."""
    if isinstance(value, ast.Dict):
        languages = {k.value for k in value.keys if isinstance(k, ast.Constant)}
        return bool(languages & set(LANGUAGES))
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        text = value.value
        return "{" not in text and not re.fullmatch(r"[a-z_]+", text)
    return False


def word_tables(tree: ast.AST) -> Iterator[int]:
    """Line numbers of dict literals that map two or more state, event or role keys to words."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keyed = [
            value
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and key.value in KEYS
        ]
        if len(keyed) >= 2 and any(_is_words(value) for value in keyed):
            yield node.lineno


def test_no_other_table_maps_states_events_or_roles_to_words() -> None:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if GLOSSARY_DIR in path.parents:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(ROOT)}:{line}" for line in word_tables(tree)]
    assert found == []


def test_the_table_check_notices_a_second_table() -> None:
    second = 'WORDS = {"proposal": {"sv": "utkast", "en": "draft"}, "declined": {"sv": "nej"}}'
    assert list(word_tables(ast.parse(second))) == [1]
    codes = 'MONEY = {"proposal": "pipeline", "declined": "released"}'
    assert list(word_tables(ast.parse(codes))) == []


# --- rendered with a marked glossary ------------------------------------------------------


def _marked(words: Words) -> Words:
    return replace(
        words,
        **{
            table: {key: f"⟦{value}⟧" for key, value in getattr(words, table).items()}
            for table in TABLES
        },
    )


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> None:
    for language in LANGUAGES:
        monkeypatch.setitem(glossary.GLOSSARIES, language, _marked(GLOSSARIES[language]))


def unmarked_words(text: str) -> list[str]:
    words = {w.strip("⟦⟧") for w in every_word()}
    rest = re.sub(r"⟦[^⟧]*⟧", " ", text)
    return [segment for segment in segments(rest) if segment in words]


CASES = [
    {
        "reference": "PL-2027-0001",
        "programme": "Programmet",
        "state": "manager_approval",
        "step": "approval",
        "waiting_since": "2026-12-01",
        "business_days": 9,
        "waiting_for": [{"name": "Eva", "role": "home_manager", "email": "eva@x.example"}],
    }
]


def _queue_every_kind(app: App, ref: str) -> None:
    with app.uow() as uow:
        placement = load_for_update(uow.session, ref)
        token = uow.session.scalars(select(ActionToken)).first()
        for language in LANGUAGES:
            for kind in sorted(KINDS):
                for to_state in ("declined", "agreement") if kind == "decision_notice" else (None,):
                    digest = kind == "escalation_digest"
                    queue_message(
                        uow,
                        kind=kind,
                        person=placement.home_manager,
                        placement=None if digest else placement,
                        now=datetime(2026, 12, 1, 8, tzinfo=UTC),
                        token=token,
                        language=language,
                        context={
                            "recipient_role": "home_manager",
                            "role": "host_contact",
                            "to_state": to_state or placement.state,
                            "comment": "Ett skäl",
                            "number": 2,
                            "cases": CASES if digest else [],
                        },
                    )
        uow.commit()


def test_every_email_kind_in_both_languages_takes_its_words_from_the_glossary(
    examples: App, marked: None
) -> None:
    ref = propose_example(examples)
    with examples.reading() as uow:
        queued_before = uow.session.scalar(select(func.max(OutboxMessage.id))) or 0
    _queue_every_kind(examples, ref)
    seen = set()
    with examples.reading() as uow:
        rows = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id > queued_before)
        ).all()
        for row in rows:
            message = render_message(
                uow.session,
                row,
                minter=examples.config.minter,
                base_url="https://mobility.example.org",
                mail_from=examples.settings.mail_from,
                timezone=examples.config.timezone,
            )
            parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
            text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
            for part in (str(parsed["Subject"]), text, html):
                assert unmarked_words(part) == [], (row.kind, row.language)
            assert "⟦" in text and "⟦" in html, (row.kind, row.language)
            seen.add((row.kind, row.language))
    assert seen == {(kind, language) for kind in KINDS for language in LANGUAGES}


def _view(language: str, purpose: str, status: LinkStatus = LIVE) -> LinkView:
    facts = PlacementFacts(
        reference="PL-2027-0001",
        state="manager_approval",
        programme_name="Programmet",
        participant_name="Daniel",
        home_organisation="Lärosätet",
        home_manager_name="Eva",
        host_organisation="Värden AB",
        host_contact_name="Jan",
        start=date(2027, 2, 1),
        end=date(2027, 7, 31),
        extent_percent=20,
        purpose="Syfte",
        development_plan="Plan",
        value_for_home="Värde",
        value_for_host="Värde",
        student_involvement="",
        coordinator_name="Sara",
        coordinator_email="sara@x.example",
    )
    return LinkView(
        token_id=1,
        purpose=purpose,
        role="home_manager",
        person_name="Eva",
        language=language,
        placement=facts,
        status=status,
        agreement=AgreementView(1, "0" * 64, "<p>Avtalet</p>") if purpose == "agreement" else None,
        questions=(Question("q", "yesno", "Igen?", required=True),),
    )


def _pages(app: App) -> Iterator[tuple[str, str]]:
    from web.app import GONE_TEXTS, NEXT_TEXTS, Pages

    pages = Pages(app)
    for language in LANGUAGES:
        for step in STEPS:
            yield f"{step.purpose} {language}", pages.step(_view(language, step.purpose)).body
        for reason, detail in GONE_TEXTS:
            status = LinkStatus(reason, datetime(2027, 1, 1, tzinfo=UTC), detail)
            view = _view(language, "approval", status)
            yield f"gone {reason} {language}", pages.gone(view).body
        for decision, state in NEXT_TEXTS:
            outcome = LinkOutcome(
                "done", _view(language, "approval"), decision=decision, to_state=state
            )
            yield f"done {decision} {language}", pages.outcome(outcome, {}).body
    for page in (pages.not_found(), pages.server_error(), pages.too_large()):
        yield f"error {page.status_code}", page.body


def test_every_page_in_both_languages_takes_its_words_from_the_glossary(
    examples: App, marked: None
) -> None:
    for name, body in _pages(examples):
        html = bytes(body).decode("utf-8")
        assert unmarked_words(html) == [], name
        # a step page names the roles and the decisions; "decided by others" names the state
        if name.split()[0] in {s.purpose for s in STEPS} or "decided_by_others" in name:
            assert "⟦" in html, name


def test_a_word_written_into_a_template_is_found_in_its_output() -> None:
    assert unmarked_words("<dt>⟦Deltagare⟧</dt><dd>Daniel</dd>") == []
    assert unmarked_words("<dt>Deltagare</dt><dd>Daniel</dd>") == ["deltagare"]
