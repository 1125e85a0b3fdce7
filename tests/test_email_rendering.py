"""Emails rendered from outbox rows that real transitions queued: language, dates, parts,
links, attachments, and names that try to break headers or HTML."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from models import ActionToken, AgreementDocument, OutboxMessage, Person, Placement
from notifications.ics import fold, placement_event
from notifications.render import KINDS, RenderError, render_message
from states.bootstrap import App
from states.lifecycle.loading import load_for_update
from states.lifecycle.outbox import queue_message
from states.lifecycle.transitions import apply_event
from states.tokens import hash_token
from tests.conftest import propose_example

BASE_URL = "https://mobility.example.org"
DAY = datetime(2026, 12, 1, 8, tzinfo=UTC)
ENDED = datetime(2027, 8, 2, 6, tzinfo=UTC)  # the first business day after the last


def rendered(app: App, *, kind: str | None = None) -> Iterator[tuple[OutboxMessage, EmailMessage]]:
    """Render every queued row (of ``kind``) the way delivery does, and re-parse it from bytes
    so the test reads what a mail client would."""
    with app.reading() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        for row in uow.session.scalars(query).all():
            email = render_message(
                uow.session,
                row,
                minter=app.config.minter,
                base_url=BASE_URL,
                mail_from=app.settings.mail_from,
                timezone=app.config.timezone,
            )
            parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            uow.session.expunge(row)  # keeps its loaded values after the session ends
            yield row, parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def walk_to_completed(app: App) -> str:
    ref = propose_example(app)
    uow = app.uow
    apply_event(
        uow(),
        reference=ref,
        event="approve",
        role="home_manager",
        actor="eva",
        via="link",
        as_of=DAY,
    )
    apply_event(
        uow(),
        reference=ref,
        event="approve",
        role="host_contact",
        actor="jan",
        via="link",
        as_of=DAY,
    )
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            uow(), reference=ref, event="accept", role=role, actor=role, via="link", as_of=DAY
        )
    apply_event(uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ENDED)
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            uow(),
            reference=ref,
            event="answer",
            role=role,
            actor=role,
            via="link",
            answers={"goals": 4},
            as_of=ENDED,
        )
    return ref


def test_each_email_is_in_its_recipients_language_with_long_dates(examples: App) -> None:
    walk_to_completed(examples)
    # Daniel asked for Swedish, Jan for English, Eva and Sara said nothing: the programme's sv.
    expected = {
        "daniel.aberg@verktyg.example": "sv",
        "eva.holm@verktyg.example": "sv",
        "jan.berg@univ.example": "en",
        "sara.lind@univ.example": "sv",
    }
    kinds = set()
    for row, message in rendered(examples):
        kinds.add(row.kind)
        language = expected[row.to_email]
        text, html = parts(message)
        assert message["Content-Language"] == language
        assert f'<html lang="{language}">' in html
        assert message["Message-ID"] == row.message_id
        start = {"sv": "1 februari 2027", "en": "1 February 2027"}[language]
        assert start in text and start in html, (row.kind, language)
        assert ("Hej " if language == "sv" else "Hello ") in text
    assert kinds == {
        "approval_request",
        "decision_notice",
        "agreement_request",
        "placement_confirmed",
        "evaluation_request",
        "completion_notice",
    }


def test_links_hash_to_the_live_token_of_that_person_and_step(examples: App) -> None:
    propose_example(examples)
    seen = 0
    with examples.reading() as uow:
        for row, message in rendered(examples, kind="approval_request"):
            text, html = parts(message)
            link = next(line for line in text.splitlines() if line.startswith(BASE_URL))
            raw = link.removeprefix(f"{BASE_URL}/l/")
            assert len(raw) == 43
            assert f'href="{link}"' in html
            token = uow.session.scalars(
                select(ActionToken).where(ActionToken.token_hash == hash_token(raw))
            ).one()
            assert token.id == row.token_id
            assert token.person_id == row.person_id
            assert token.purpose == "approval"
            seen += 1
    assert seen == 2


def test_an_approver_reads_who_where_when_extent_purpose_and_value_not_more(examples: App) -> None:
    propose_example(examples)
    for _row, message in rendered(examples, kind="approval_request"):
        text, _html = parts(message)
        for fact in (
            "Daniel Åberg",
            "Verktyg & Precision AB",
            "Institutionen för maskinteknik",
            "20 %",
            "cutting-tool wear",
            "tool-life prediction",
            "Real production data",
        ):
            assert fact in text
        # The participant's own address is not the approver's business.
        assert "daniel.aberg@verktyg.example" not in message.as_string()


def test_agreement_request_names_the_version_and_its_sha256(examples: App) -> None:
    ref = propose_example(examples)
    for role in ("home_manager", "host_contact"):
        apply_event(
            examples.uow(),
            reference=ref,
            event="approve",
            role=role,
            actor=role,
            via="link",
            as_of=DAY,
        )
    with examples.reading() as uow:
        sha256 = uow.session.scalars(select(AgreementDocument.sha256)).one()
    messages = list(rendered(examples, kind="agreement_request"))
    assert len(messages) == 3
    for row, message in messages:
        text, html = parts(message)
        version = "version 1"
        assert version in message["Subject"]
        assert sha256[:12] in text and sha256[:12] in html
        assert row.token_id is not None


def test_placement_confirmed_carries_the_period_as_ics_and_the_final_agreement(
    examples: App,
) -> None:
    ref = propose_example(examples)
    for role in ("home_manager", "host_contact"):
        apply_event(
            examples.uow(),
            reference=ref,
            event="approve",
            role=role,
            actor=role,
            via="link",
            as_of=DAY,
        )
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            examples.uow(),
            reference=ref,
            event="accept",
            role=role,
            actor=role,
            via="link",
            as_of=DAY,
        )
    with examples.reading() as uow:
        final_at, content_html, sha256 = uow.session.execute(
            select(
                AgreementDocument.final_at, AgreementDocument.content_html, AgreementDocument.sha256
            )
        ).one()
    assert final_at is not None
    messages = list(rendered(examples, kind="placement_confirmed"))
    assert len(messages) == 3
    for _row, message in messages:
        attachments = {a.get_filename(): a for a in message.iter_attachments()}
        ics = attachments[f"{ref}.ics"]
        assert ics.get_content_type() == "text/calendar"
        calendar = ics.get_content()
        assert "DTSTART;VALUE=DATE:20270201" in calendar
        assert "DTEND;VALUE=DATE:20270731" in calendar  # exclusive: the day after 30 July
        assert "BEGIN:VEVENT" in calendar and "\r\n" in ics.get_payload(decode=True).decode()
        assert "SEQUENCE:0\r\n" in calendar  # the first version of the terms
        assert 'ORGANIZER;CN="Sara Lind":mailto:sara.lind@univ.example' in calendar
        assert f"URL:{BASE_URL}/\r\n" in calendar
        (name,) = (n for n in attachments if n.endswith(".pdf"))
        agreement = PdfReader(io.BytesIO(attachments[name].get_payload(decode=True)))
        # A party can take the accepted HTML out of the PDF and check its SHA-256.
        ((_, (embedded,)),) = agreement.attachments.items()
        assert embedded.decode("utf-8") == content_html
        assert hashlib.sha256(embedded).hexdigest() == sha256


def test_an_amended_period_goes_out_with_the_next_calendar_sequence(examples: App) -> None:
    """Amended twice before every party accepted: the event a calendar gets carries
    SEQUENCE:2 and the new end, under the same UID (a calendar replaces what it holds)."""
    from states.lifecycle.amendments import TermsChange, amend_terms

    ref = propose_example(examples)
    for role in ("home_manager", "host_contact"):
        apply_event(
            examples.uow(),
            reference=ref,
            event="approve",
            role=role,
            actor=role,
            via="link",
            as_of=DAY,
        )
    for end in (date(2027, 8, 31), date(2027, 9, 30)):
        amend_terms(
            examples.uow(),
            reference=ref,
            changes=TermsChange(end=end),
            actor="sara",
            via="cli",
            as_of=DAY,
        )
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            examples.uow(),
            reference=ref,
            event="accept",
            role=role,
            actor=role,
            via="link",
            as_of=DAY,
        )
    (_row, message), *_ = rendered(examples, kind="placement_confirmed")
    calendar = next(
        a.get_content() for a in message.iter_attachments() if a.get_filename() == f"{ref}.ics"
    )
    assert "SEQUENCE:2\r\n" in calendar and "DTEND;VALUE=DATE:20271001" in calendar
    assert f"UID:{ref.lower()}@" in calendar


@pytest.mark.parametrize("language", ["sv", "en"])
def test_flow_kinds_render_in_both_languages(examples: App, language: str) -> None:
    """The kinds the reminder sweep queues: reminders reuse the original token; the digest
    has no placement."""
    ref = propose_example(examples)
    with examples.uow() as uow:
        placement = load_for_update(uow.session, ref)
        approval_row = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "approval_request")
        ).first()
        assert approval_row is not None
        token = uow.session.get(ActionToken, approval_row.token_id)
        manager = placement.home_manager
        for kind in (
            "approval_reminder",
            "agreement_reminder",
            "evaluation_reminder",
            "checkin_request",
        ):
            queue_message(
                uow,
                kind=kind,
                person=manager,
                placement=placement,
                now=DAY,
                context={"number": 2, "recipient_role": "home_manager"},
                token=token,
                language=language,
            )
        queue_message(
            uow,
            kind="placement_starts",
            person=manager,
            placement=placement,
            now=DAY,
            language=language,
        )
        queue_message(
            uow,
            kind="escalation_digest",
            person=placement.programme.coordinator,
            placement=None,
            now=DAY,
            language=language,
            context={
                "cases": [
                    {
                        "reference": ref,
                        "programme": "Affilierad kompetens 2027",
                        "state": "manager_approval",
                        "step": "approval",
                        "waiting_since": "2026-12-01",
                        "business_days": 9,
                        "waiting_for": [
                            {
                                "name": "Eva <b>Holm</b>",
                                "role": "home_manager",
                                "email": "eva.holm@verktyg.example",
                            }
                        ],
                    }
                ]
            },
        )
        uow.commit()
    subjects = {}
    for row, message in rendered(examples):
        if row.language != language or row.kind == "approval_request":
            continue
        text, html = parts(message)
        subjects[row.kind] = message["Subject"]
        if row.kind == "escalation_digest":
            assert ref in text and "Eva &lt;b&gt;Holm&lt;/b&gt;" in html
            assert {"sv": "1 december 2026", "en": "1 December 2026"}[language] in text
            assert "9" in text
        elif row.token_id is not None:
            assert f"{BASE_URL}/l/" in text
        if row.kind.endswith("_reminder"):
            assert "2" in message["Subject"]
    assert set(subjects) == {
        "approval_reminder",
        "agreement_reminder",
        "evaluation_reminder",
        "checkin_request",
        "placement_starts",
        "escalation_digest",
    }


def test_every_kind_has_swedish_and_english_templates() -> None:
    from notifications.render import TEMPLATE_DIR

    for kind in KINDS:
        for language in ("sv", "en"):
            for ext in ("txt", "html"):
                assert (TEMPLATE_DIR / f"{kind}.{language}.{ext}").is_file()


def test_an_unknown_kind_is_a_clear_render_error(examples: App) -> None:
    propose_example(examples)
    with examples.uow() as uow:
        uow.session.execute(update(OutboxMessage).values(kind="no_such_kind"))
        uow.commit()
    with pytest.raises(RenderError, match="no email template for kind 'no_such_kind'"):
        next(rendered(examples))


HOSTILE = ["Eva\r\nBcc: x@evil.example", "<script>alert(1)</script>"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_escaped_in_html_and_adds_no_header(examples: App, name: str) -> None:
    ref = propose_example(examples)
    # Input validation already flattens names; write the raw name to the row to prove the
    # renderer does not rely on it.
    with examples.uow() as uow:
        placement = uow.session.scalars(select(Placement).where(Placement.reference == ref)).one()
        for person_id in (placement.participant_id, placement.home_manager_id):
            uow.session.execute(update(Person).where(Person.id == person_id).values(name=name))
        uow.session.execute(update(OutboxMessage).values(to_name=name))
        uow.commit()
    with examples.reading() as uow:
        rows = uow.session.scalars(select(OutboxMessage)).all()
        for row in rows:
            email = render_message(
                uow.session,
                row,
                minter=examples.config.minter,
                base_url=BASE_URL,
                mail_from=examples.settings.mail_from,
                timezone=examples.config.timezone,
            )
            raw = email.as_bytes()
            parsed = message_from_bytes(raw, policy=policy.default)
            assert parsed["Bcc"] is None
            assert b"\nBcc:" not in raw and b"\r\nBcc:" not in raw
            header_names = [k.lower() for k in parsed]
            assert header_names.count("to") == 1
            assert len(parsed["To"].addresses) == 1
            assert parsed["To"].addresses[0].addr_spec == row.to_email
            text = parsed.get_body(("plain",)).get_content()
            html = parsed.get_body(("html",)).get_content()
            assert "<script>" not in html
            if "<script>" in name:
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            assert "\r" not in text.replace("\r\n", "\n")


def test_ics_lines_fold_at_75_octets_without_splitting_characters() -> None:
    line = "SUMMARY:" + "Placering hos Institutionen för maskinteknik, Lunds universitet " * 3
    folded = fold(line)
    for piece in folded.split("\r\n"):
        assert len(piece.encode("utf-8")) <= 75
    assert folded.replace("\r\n ", "") == line
    calendar = placement_event(
        uid="pl-1@x",
        start=date(2027, 2, 1),
        end=date(2027, 7, 30),
        summary="a; b, c",
        description="x\ny",
        location="Lund",
        stamp=DAY,
        sequence=0,
        organizer_name='Sara "S" Lind',
        organizer_email="sara@x.example",
        url="https://m.example.org/",
    )
    assert 'ORGANIZER;CN="Sara S Lind":mailto:sara@x.example' in calendar
    assert "SUMMARY:a\\; b\\, c" in calendar and "DESCRIPTION:x\\ny" in calendar
