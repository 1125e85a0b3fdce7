"""Outbox delivery through a real SMTP server (aiosmtpd on a free port), read back: one message
per recipient, in their language, text and HTML, with links that hash to their live token."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update
from typer.testing import CliRunner

from config import Settings
from models import ActionToken, AgreementAcceptance, Approval, OutboxMessage, Placement
from notifications.delivery import deliver_due_sync
from notifications.outcomes import DeliveryReport
from states.bootstrap import App
from states.lifecycle.transitions import apply_event
from states.links.status import link_status
from states.tokens import hash_token
from tests.conftest import load_examples, propose_example
from tests.smtp_server import SmtpTestServer, smtp_server

DAY = datetime(2026, 12, 1, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "https://mobility.example.org"


def settings_for(app: App, server: SmtpTestServer, **overrides: object) -> Settings:
    return app.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": server.port,
            "base_url": BASE_URL,
            **overrides,
        }
    )


def deliver(
    app: App, server: SmtpTestServer, *, now: datetime = DAY, **overrides: object
) -> DeliveryReport:
    return deliver_due_sync(
        engine=app.engine,
        settings=settings_for(app, server, **overrides),
        config=app.config,
        now=now,
    )


def link_in(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = [line for line in text.splitlines() if line.startswith(f"{BASE_URL}/l/")]
    assert len(links) == 1
    assert f'href="{links[0]}"' in html
    return links[0]


def check_link(app: App, message: EmailMessage, *, purpose: str, now: datetime) -> ActionToken:
    """The raw token in the link hashes to a live token of this recipient for this step."""
    raw = link_in(message).removeprefix(f"{BASE_URL}/l/")
    with app.reading() as uow:
        token = uow.session.scalars(
            select(ActionToken).where(ActionToken.token_hash == hash_token(raw))
        ).one()
        row = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message["Message-ID"])
        ).one()
        assert token.id == row.token_id and token.person_id == row.person_id
        assert token.purpose == purpose
        # ... and the step it acts on is this person's open step on this placement.
        step = uow.session.get(STEP_ROWS[purpose], token.subject_id)
        assert step is not None
        assert (step.person_id, step.placement_id) == (token.person_id, token.placement_id)
        assert link_status(uow.session, token, now=now).live
        uow.session.expunge(token)
    return token


STEP_ROWS: dict[str, type[Approval] | type[AgreementAcceptance]] = {
    "approval": Approval,
    "agreement": AgreementAcceptance,
}


def by_recipient(messages: list[EmailMessage]) -> Counter[str]:
    return Counter(m["To"].addresses[0].addr_spec for m in messages)


LANGUAGE = {
    "daniel.aberg@verktyg.example": "sv",
    "eva.holm@verktyg.example": "sv",
    "jan.berg@univ.example": "en",
    "sara.lind@univ.example": "sv",
}


def check_parts(message: EmailMessage) -> None:
    language = LANGUAGE[message["To"].addresses[0].addr_spec]
    assert message["Content-Language"] == language
    assert message.get_body(("plain",)) is not None
    html = message.get_body(("html",))
    assert html is not None and f'<html lang="{language}">' in html.get_content()


def test_each_recipient_gets_one_message_in_their_language_with_working_links(
    any_app: App,
) -> None:
    load_examples(any_app)
    with smtp_server() as server:
        ref = propose_example(any_app, as_of=DAY)
        report = deliver(any_app, server)
        assert (report.claimed, report.sent) == (2, 2)
        assert by_recipient(server.messages) == {
            "eva.holm@verktyg.example": 1,
            "jan.berg@univ.example": 1,
        }
        for message in server.messages:
            check_parts(message)
            token = check_link(any_app, message, purpose="approval", now=DAY)
            with any_app.reading() as uow:
                placement = uow.session.scalars(
                    select(Placement).where(Placement.reference == ref)
                ).one()
                assert token.placement_id == placement.id
        assert "Godkännande begärs" in server.to("eva.holm@verktyg.example")[0]["Subject"]
        assert "Approval requested" in server.to("jan.berg@univ.example")[0]["Subject"]

        for role in ("home_manager", "host_contact"):
            apply_event(
                any_app.uow(),
                reference=ref,
                event="approve",
                role=role,
                actor=role,
                via="link",
                as_of=DAY,
            )
        before = len(server.messages)
        report = deliver(any_app, server)
        new = server.messages[before:]
        # decision notice to participant and coordinator; agreement request to three parties
        assert report.sent == 5 and len(new) == 5
        agreements = [m for m in new if m["Subject"].startswith(("Avtal", "Agreement"))]
        assert by_recipient(agreements) == {
            "daniel.aberg@verktyg.example": 1,
            "eva.holm@verktyg.example": 1,
            "jan.berg@univ.example": 1,
        }
        for message in new:
            check_parts(message)
        for message in agreements:
            check_link(any_app, message, purpose="agreement", now=DAY)
        # Nothing is due any more: a second run sends nothing again.
        assert deliver(any_app, server).claimed == 0
        assert server.duplicates() == 0


def test_a_link_dead_before_sending_is_cancelled_not_sent(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, as_of=DAY)
    apply_event(
        app.uow(),
        reference=ref,
        event="withdraw",
        comment="no budget",
        actor="sara",
        via="cli",
        as_of=DAY,
    )
    with smtp_server() as server:
        report = deliver(app, server)
        assert report.cancelled == 2  # the two approval requests
        subjects = [m["Subject"] for m in server.messages]
        assert all("Approval requested" not in s and "Godkännande" not in s for s in subjects)
        assert any(s.startswith(("Återkallad", "Withdrawn")) for s in subjects)
    with app.reading() as uow:
        reasons = uow.session.scalars(
            select(OutboxMessage.last_error).where(OutboxMessage.status == "cancelled")
        ).all()
    assert reasons == ["link no longer live: withdrawn"] * 2


def test_an_unrenderable_row_is_dead_with_the_reason_and_the_rest_is_sent(app: App) -> None:
    load_examples(app)
    propose_example(app, as_of=DAY)
    with app.uow() as uow:
        first = uow.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).first()
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == first).values(kind="no_such_kind")
        )
        uow.commit()
    with smtp_server() as server:
        report = deliver(app, server)
    assert (report.dead, report.sent) == (1, 1)
    with app.reading() as uow:
        dead = uow.session.get(OutboxMessage, first)
        assert dead is not None and dead.status == "dead"
        assert "no email template for kind 'no_such_kind'" in (dead.last_error or "")


def queue_rows(
    app: App,
    count: int,
    *,
    kind: str = "placement_starts",
    now: datetime = DAY,
    domain: str = "example.org",
) -> None:
    """Insert ``count`` outbox rows for the example placement directly: fast, and what the
    delivery side sees is the same as from a transition."""
    with app.uow() as uow:
        placement = uow.session.scalars(select(Placement)).first()
        assert placement is not None
        uow.session.execute(
            insert(OutboxMessage),
            [
                {
                    "message_id": f"<bulk-{i}@{domain}>",
                    "kind": kind,
                    "placement_id": placement.id,
                    "person_id": placement.participant_id,
                    "to_email": f"person{i}@{domain}",
                    "to_name": f"Person {i}",
                    "language": "sv" if i % 2 else "en",
                    "context": {},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
        uow.commit()


def test_two_senders_at_once_send_each_message_once(any_app: App) -> None:
    """Claims are atomic (SKIP LOCKED on PostgreSQL, one UPDATE … RETURNING on SQLite)."""
    load_examples(any_app)
    propose_example(any_app, as_of=DAY)
    queue_rows(any_app, 120)
    with smtp_server() as server:
        settings = settings_for(any_app, server, delivery_batch_size=10)
        reports: list[DeliveryReport] = []

        def run(worker: str) -> None:
            reports.append(
                deliver_due_sync(
                    engine=any_app.engine,
                    settings=settings,
                    config=any_app.config,
                    now=DAY,
                    worker_id=worker,
                )
            )

        threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(r.sent for r in reports) == 122
        assert len(server.messages) == 122 and server.duplicates() == 0
    with any_app.reading() as uow:
        assert uow.session.scalar(select(func.count()).where(OutboxMessage.status != "sent")) == 0


# --- the command line -----------------------------------------------------------------------


def test_outbox_commands_show_send_and_retry(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import cli.outbox as outbox_commands
    from cli.main import app as mobility

    load_examples(app)
    propose_example(app, as_of=DAY)
    cli = CliRunner()
    with smtp_server() as server:
        wired = dataclasses.replace(app, settings=settings_for(app, server))
        monkeypatch.setattr(outbox_commands, "get_app", lambda: wired)
        shown = cli.invoke(mobility, ["outbox", "--state", "pending"])
        assert shown.exit_code == 0, shown.output
        assert shown.output.count("approval_request") == 2
        server.faults.refuse = {"jan.berg@univ.example"}
        sent = cli.invoke(mobility, ["outbox", "send", "--as-of", DAY.isoformat()])
        assert sent.exit_code == 0, sent.output
        assert "claimed 2  sent 1  retried 0  dead 1  cancelled 0" in sent.output
        dead = cli.invoke(mobility, ["outbox", "--state", "dead", "--json"])
        assert '"to": "jan.berg@univ.example"' in dead.output
        assert "550 5.1.1 Mailbox unavailable" in dead.output
        with app.reading() as uow:
            dead_id = uow.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.status == "dead")
            )
        assert cli.invoke(mobility, ["outbox", "retry", str(dead_id)]).exit_code == 0
        server.faults.refuse = set()
        resent = cli.invoke(mobility, ["outbox", "send", "--json"])
        assert '"sent": 1' in resent.output
        assert by_recipient(server.messages) == {
            "eva.holm@verktyg.example": 1,
            "jan.berg@univ.example": 1,
        }


def test_retrying_a_message_that_is_not_dead_is_a_one_line_error(app: App, tmp_path: Path) -> None:
    load_examples(app)
    propose_example(app, as_of=DAY)
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": app.settings.resolved_database_url,
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "outbox", "retry", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: outbox message 1 is pending, not dead; only dead ones are retried"
    )
    missing = subprocess.run(
        [sys.executable, "-m", "cli.main", "outbox", "retry", "999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert (missing.returncode, missing.stderr.strip()) == (2, "error: no outbox message 999")


def test_give_up_window_is_counted_from_queueing(app: App) -> None:
    """A message that cannot be sent for longer than delivery_give_up_hours is dead."""
    load_examples(app)
    propose_example(app, as_of=DAY)
    server = SmtpTestServer()  # never started: every connection is refused
    report = deliver(app, server, delivery_give_up_hours=1.0)
    assert report.retried == 2
    report = deliver(app, server, now=DAY + timedelta(hours=1), delivery_give_up_hours=1.0)
    assert report.dead == 2
    with app.reading() as uow:
        errors = uow.session.scalars(select(OutboxMessage.last_error)).all()
    assert all(e and e.startswith("gave up after 2 attempts: cannot connect") for e in errors)


def test_hostile_names_travel_escaped_and_add_no_recipient_or_header(
    app: App, tmp_path: Path
) -> None:
    """A participant named <script>… and a manager named "Eva\\r\\nBcc: x@evil.example": the
    input flattens the line break; the raw name is also forced into the rows to prove the
    renderer does not rely on that. What the SMTP server receives has one recipient each."""
    from states.intake.input_files import load_proposals
    from states.intake.registration import register_proposals
    from tests.conftest import EXAMPLES

    load_examples(app)
    text = (EXAMPLES / "proposal.yaml").read_text(encoding="utf-8")
    text = text.replace("name: Daniel Åberg", 'name: "<script>alert(1)</script>"')
    text = text.replace("name: Eva Holm", 'name: "Eva\\r\\nBcc: x@evil.example"')
    (tmp_path / "hostile.yaml").write_text(text, encoding="utf-8")
    ref = register_proposals(
        app.uow(),
        proposals=load_proposals(tmp_path / "hostile.yaml"),
        actor="sara",
        via="cli",
        as_of=DAY,
    )[0].reference
    with app.uow() as uow:
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.to_email == "eva.holm@verktyg.example")
            .values(to_name="Eva\r\nBcc: x@evil.example")
        )
        uow.commit()
    with smtp_server() as server:
        assert deliver(app, server).sent == 2  # the approval requests
        for role in ("home_manager", "host_contact"):
            apply_event(
                app.uow(),
                reference=ref,
                event="approve",
                role=role,
                actor=role,
                via="link",
                as_of=DAY,
            )
        report = deliver(app, server)
        assert report.dead == 0 and report.sent == 5
        envelopes = server.handler.envelopes
        messages = server.messages
    assert all(len(rcpts) == 1 for _sender, rcpts in envelopes)
    assert "x@evil.example" not in {r for _s, rcpts in envelopes for r in rcpts}
    for message in messages:
        assert message["Bcc"] is None and len(message["To"].addresses) == 1
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "<script>" not in html
    to_participant = [
        m for m in messages if m["To"].addresses[0].addr_spec == "daniel.aberg@verktyg.example"
    ]
    assert to_participant
    for message in to_participant:
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_deliver_due_sync_works_where_an_event_loop_already_runs(app: App) -> None:
    import asyncio

    load_examples(app)
    propose_example(app, as_of=DAY)
    with smtp_server() as server:
        settings = settings_for(app, server)

        async def inside_a_loop() -> DeliveryReport:
            return deliver_due_sync(
                engine=app.engine, settings=settings, config=app.config, now=DAY
            )

        assert asyncio.run(inside_a_loop()).sent == 2
