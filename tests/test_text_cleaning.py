"""Bidi controls, zero-width and other format characters, and C0/C1 controls are stripped
where people's text comes in (issue 9, item 6): names, emails, organisations and keys become
one clean line; free text keeps its line breaks and tabs. Checked in the stored rows, the email
headers, the link page, the CLI table, decision comments and evaluation answers.
"""

from __future__ import annotations

import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select, text, update

from models import HistoryEntry, OutboxMessage, Person
from models.text import free_text, markdown_text, single_line
from states.bootstrap import App
from states.errors import InvalidInput
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.links.pages import act_on_link
from tests.conftest import EXAMPLES, load_examples
from tests.test_cli import Run, cli  # noqa: F401  (the fixture)

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
C1 = "\x85\x9b\x9f"
EVERY_BAD = BIDI + INVISIBLE + C1 + "\x00\x1b\x7f\u2028\u2029"
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def test_single_line_and_free_text() -> None:
    hostile = "\u202eDa\u2066ni\u2067el\u2068 \u2069Å\u200eb\u200fe\u061cr\u200bg\ufeff"
    assert single_line(hostile) == "Daniel Åberg"
    assert single_line("Eva\r\nBcc: x@evil.example") == "Eva Bcc: x@evil.example"
    assert single_line("Eva\x85Holm\x9b\x00\x1b[31m") == "Eva Holm [31m"
    assert single_line("a\tb\u2028c") == "a b c"
    assert single_line("\ud800lone surrogate") == "lone surrogate"
    assert free_text("Line one\u202e\r\nLine\ttwo\x00end\u200b\rthree\u2029four") == (
        "Line one\nLine\ttwo end\nthree\nfour"
    )
    assert free_text("plain text: nothing to do") == "plain text: nothing to do"
    for bad in EVERY_BAD:
        assert bad not in single_line(f"x{bad}y") and bad not in free_text(f"x{bad}y")
        assert bad not in markdown_text(f"x{bad}y")


def _hostile_proposal(tmp_path: Path) -> Path:
    data = yaml.safe_load((EXAMPLES / "proposal.yaml").read_text(encoding="utf-8"))
    data["participant"]["name"] = (
        "\u202eDa\u2066ni\u2067el\u2068 \u2069Å\u200eb\u200fe\u061cr\u200bg\ufeff\x85"
    )
    data["participant"]["email"] = "\u200bdaniel.aberg@verktyg.example\u202c"
    data["home_manager"]["name"] = "Eva\x9bHolm\u202e"
    data["home_organisation"] = "Verktyg\u202e & Precision AB\u2069"
    data["host_organisation"] = "\u2067Institutionen för maskinteknik\u00ad"
    data["purpose"] = "Line one\u202e\r\nLine\ttwo\x00end\u200b"
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _register(app: App, tmp_path: Path) -> str:
    load_examples(app)
    return register_proposals(
        app.uow(),
        proposals=load_proposals(_hostile_proposal(tmp_path)),
        actor="sara",
        via="cli",
        as_of=datetime(2026, 12, 1, 8, tzinfo=UTC),
    )[0].reference


def _no_bad(value: str) -> None:
    found = [f"U+{ord(c):04X}" for c in value if c in EVERY_BAD]
    assert found == [], found


def test_names_and_free_text_are_stored_clean(any_app: App, tmp_path: Path) -> None:
    app = any_app
    ref = _register(app, tmp_path)
    with app.reading() as uow:
        people = dict(uow.session.execute(text("SELECT email, name FROM person")).all())
        organisations = set(uow.session.scalars(text("SELECT name FROM organisation")))
        purpose = uow.session.scalar(
            text("SELECT purpose FROM placement WHERE reference = :r"), {"r": ref}
        )
    assert people["daniel.aberg@verktyg.example"] == "Daniel Åberg"
    assert people["eva.holm@verktyg.example"] == "Eva Holm"
    assert {"Verktyg & Precision AB", "Institutionen för maskinteknik"} <= organisations
    assert purpose == "Line one\nLine\ttwo end"  # line break and tab kept, the rest gone


def test_a_name_of_nothing_but_format_characters_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "proposal.yaml").read_text(encoding="utf-8"))
    data["host_contact"]["name"] = BIDI + INVISIBLE
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"host_contact\.name: .*at least 1"):
        load_proposals(path)


def test_emails_and_link_pages_show_the_clean_names(app: App, tmp_path: Path) -> None:
    """Stored clean, and cleaned again on the way out: a row written before the rule (forced
    in here) still gives a clean header."""
    from tests.smtp_server import smtp_server
    from tests.test_delivery import deliver
    from tests.test_links import live_links
    from tests.test_web_support import Clock, served

    ref = _register(app, tmp_path)
    with app.uow() as uow:
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.to_email == "eva.holm@verktyg.example")
            .values(to_name="\u202eEva\u2066 Holm\x85")
        )
        uow.commit()
    with smtp_server() as server:
        assert deliver(app, server, now=NOW).sent == 2
        raw = list(server.handler.raw)
    for data in raw:
        message = message_from_bytes(data, policy=email.policy.default)
        for header in ("To", "Subject", "From", "Reply-To"):
            _no_bad(str(message[header]))
        _no_bad(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        _no_bad(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    names = {str(message_from_bytes(d, policy=email.policy.default)["To"]) for d in raw}
    assert "Eva Holm <eva.holm@verktyg.example>" in names
    with served(app, clock=Clock()) as base:
        for raw_token in live_links(app, ref, "approval").values():
            page = httpx.get(f"{base}/l/{raw_token}")
            assert page.status_code == 200
            _no_bad(page.text)
            assert "Daniel Åberg" in page.text and "Verktyg &amp; Precision AB" in page.text


def test_comments_and_answers_typed_on_link_pages_are_stored_clean(
    app: App, tmp_path: Path
) -> None:
    from tests.test_links import live_links

    ref = _register(app, tmp_path)
    links = live_links(app, ref, "approval")
    refused = act_on_link(
        app.uow(),
        raw_token=links["home_manager"],
        decision="decline",
        comment=BIDI + INVISIBLE + C1,  # looks empty, is empty: a reason is required
        answers_form={},
        now=NOW,
    )
    assert refused.kind == "invalid" and [e.field for e in refused.errors] == ["comment"]
    outcome = act_on_link(
        app.uow(),
        raw_token=links["host_contact"],
        decision="request_changes",
        comment="Please\u202e add\u200b a plan\r\n\x9bsoon",
        answers_form={},
        now=NOW,
    )
    assert outcome.kind == "done"
    with app.reading() as uow:
        comments = uow.session.scalars(
            select(HistoryEntry.comment).where(HistoryEntry.comment.is_not(None))
        ).all()
    assert comments == ["Please add a plan\n soon"]


def test_evaluation_text_answers_are_cleaned_and_keep_their_lines() -> None:
    from states.lifecycle.evaluation import Question, validate_answers

    questions = [
        Question(key="outcomes_text", kind="text", label="Tell us"),
        Question(key="goals_reached", kind="scale", label="Goals", required=True),
    ]
    answers, errors = validate_answers(
        questions,
        {"outcomes_text": ["Two\u202e courses\r\nand\ta \x9bthesis\u200b"], "goals_reached": ["4"]},
        language="en",
    )
    assert errors == []
    assert answers == {"outcomes_text": "Two courses\nand\ta  thesis", "goals_reached": 4}
    _, errors = validate_answers(
        [Question(key="t", kind="text", label="T", required=True)],
        {"t": [BIDI + INVISIBLE + C1]},
        language="en",
    )
    assert [e.field for e in errors] == ["t"]


def test_cli_tables_and_reasons_are_clean(
    cli: Callable[..., Run],  # noqa: F811
    tmp_path: Path,
) -> None:
    for name in ("programme-affiliation.yaml", "programme-paus.yaml"):
        assert cli("programme", "add", str(EXAMPLES / name)).code == 0
    proposed = cli("propose", str(_hostile_proposal(tmp_path)), "--json")
    assert proposed.code == 0, proposed
    reference = proposed.json()[0]["reference"]  # type: ignore[index]
    listed = cli("list")
    assert listed.code == 0
    _no_bad(listed.out)
    assert "Daniel Åberg" in listed.out and "Institutionen för maskinteknik" in listed.out
    withdrawn = cli("withdraw", reference, "--reason", "No\u202e longer\u2066 possible\x9b")
    assert withdrawn.code == 0, withdrawn
    shown = cli("show", reference, "--json")
    history = shown.json()["history"]  # type: ignore[index]
    assert history[-1]["comment"] == "No longer possible"
    # A name stored before the rule still prints as one clean line.
    from cli.common import get_app

    with get_app().uow() as uow:
        uow.session.execute(update(Person).values(name="\u202eDaniel\x1b[31m Åberg\x85"))
        uow.commit()
    listed = cli("list")
    _no_bad(listed.out)
    assert "Daniel [31m Åberg" in listed.out
