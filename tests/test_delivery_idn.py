"""Internationalised addresses through a real SMTP server (aiosmtpd), with and without
SMTPUTF8, and one message whose rendering or sending fails in a way nobody foresaw: each ends
that message's attempt with its outcome recorded, never the run, and no row stays `sending`.
"""

from __future__ import annotations

import email
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from email import policy
from pathlib import Path
from typing import Any

import aiosmtplib
import idna
import pytest
import yaml
from sqlalchemy import select

from models import OutboxMessage, Person
from models.schemas import PersonIn
from states.bootstrap import App
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.privacy.export import export_person
from tests.conftest import EXAMPLES, load_examples, propose_example
from tests.smtp_server import SmtpTestServer, smtp_server
from tests.test_delivery import DAY, ROOT, deliver, queue_rows
from tests.test_delivery_faults import LATER

MANAGER = "chef@exämple.se"  # an IDN domain, an ASCII local part
CONTACT = "åsa.chef@exämple.se"  # a non-ASCII local part: SMTPUTF8 or nothing
MANAGER_WIRE = "chef@xn--exmple-cua.se"
CONTACT_WIRE = "åsa.chef@xn--exmple-cua.se"


def propose_idn(app: App, tmp_path: Path, *, manager: str, contact: str, name: str) -> str:
    """The example proposal with the manager and host contact at an internationalised domain,
    registered from a file as `mobility propose` would."""
    data = yaml.safe_load((EXAMPLES / "proposal.yaml").read_text(encoding="utf-8"))
    data["participant"] = {"name": name, "email": f"{name.split()[0].lower()}@verktyg.example"}
    data["home_manager"] = {"name": "Chef Chefsson", "email": manager}
    data["host_contact"] = {"name": "Åsa Chef", "email": contact, "language": "sv"}
    path = tmp_path / f"{name.split()[0]}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    registered = register_proposals(
        app.uow(), proposals=load_proposals(path), actor="sara", via="cli", as_of=DAY
    )
    return registered[0].reference


@pytest.fixture
def idn(app: App, tmp_path: Path) -> App:
    """The examples, and one proposal whose manager and host contact are at exämple.se."""
    load_examples(app)
    propose_idn(app, tmp_path, manager=MANAGER, contact=CONTACT, name="Ada A")
    return app


def rows(app: App) -> dict[str, tuple[str, str | None]]:
    """to_email → (status, last_error) of every outbox row."""
    with app.reading() as uow:
        found = uow.session.execute(
            select(OutboxMessage.to_email, OutboxMessage.status, OutboxMessage.last_error)
        ).all()
    return {to: (status, error) for to, status, error in found}


def test_the_same_address_however_written_is_one_person_stored_in_unicode(
    app: App, tmp_path: Path
) -> None:
    for written in (MANAGER, "CHEF@EXÄMPLE.SE", "chef@XN--EXMPLE-CUA.SE", "chef@exa\u0308mple.se"):
        assert PersonIn(name="Chef", email=written).email == MANAGER
    for written in (CONTACT, "ÅSA.CHEF@xn--exmple-cua.se", "a\u030asa.chef@exämple.se"):
        assert PersonIn(name="Åsa", email=written).email == CONTACT
    load_examples(app)
    propose_idn(app, tmp_path, manager="CHEF@XN--EXMPLE-CUA.SE", contact=CONTACT, name="Ada A")
    propose_idn(app, tmp_path, manager=MANAGER, contact="ÅSA.CHEF@EXÄMPLE.SE", name="Bo B")
    with app.reading() as uow:
        emails = uow.session.scalars(select(Person.email).where(Person.email.like("%@ex%"))).all()
    assert sorted(emails) == sorted([CONTACT, MANAGER])
    # and looked up the same way, however it is written
    assert (
        export_person(app.reading(), email="CHEF@XN--EXMPLE-CUA.SE")["person"]["email"] == MANAGER
    )
    # what is stored is what is sent, written in ASCII where the address allows it
    assert idna.decode(MANAGER_WIRE.split("@")[1]) == MANAGER.split("@")[1]


def test_idn_domain_goes_in_punycode_and_a_utf8_local_part_with_smtputf8(idn: App) -> None:
    app = idn
    with smtp_server(smtputf8=True) as server:
        report = deliver(app, server)
        assert (report.claimed, report.sent, report.dead, report.retried) == (2, 2, 0, 0)
        recipients = sorted(r for _sender, rcpts in server.handler.envelopes for r in rcpts)
        assert recipients == sorted([MANAGER_WIRE, CONTACT_WIRE])
        assert server.handler.utf8_envelopes == 1  # only the one that needs it
        raw = {
            rcpts[0]: content
            for (_sender, rcpts), content in zip(
                server.handler.envelopes, server.handler.raw, strict=True
            )
        }
    # The To header says what the envelope says; an ASCII message stays ASCII.
    manager_header = raw[MANAGER_WIRE].split(b"\r\n\r\n")[0]
    assert manager_header.isascii() and f"<{MANAGER_WIRE}>".encode() in manager_header
    # UTF-8 headers (RFC 6532), read back as a UTF-8 aware client reads them
    utf8 = email.message_from_string(raw[CONTACT_WIRE].decode("utf-8"), policy=policy.default)
    assert utf8["To"].addresses[0].addr_spec == CONTACT_WIRE
    assert str(utf8["To"]) == f"Åsa Chef <{CONTACT_WIRE}>"
    ascii_message = email.message_from_bytes(raw[MANAGER_WIRE], policy=policy.default)
    assert str(ascii_message["To"]) == f"Chef Chefsson <{MANAGER_WIRE}>"
    assert rows(app) == {MANAGER: ("sent", None), CONTACT: ("sent", None)}


def test_without_smtputf8_the_utf8_local_part_is_dead_with_the_reason_the_rest_goes(
    idn: App,
) -> None:
    app = idn
    with smtp_server(smtputf8=False) as server:
        report = deliver(app, server)
        assert (report.sent, report.dead, report.retried) == (1, 1, 0)
        assert server.handler.envelopes == [("mobility@localhost", [MANAGER_WIRE])]
        # dead stays dead: later runs do not try again
        assert deliver(app, server, now=DAY + LATER).claimed == 0
    found = rows(app)
    assert found[MANAGER] == ("sent", None)
    status, error = found[CONTACT]
    assert status == "dead"
    assert error == (
        f"{CONTACT_WIRE}: an address with a non-ASCII local part needs SMTPUTF8 (RFC 6531), "
        f"and the mail server 127.0.0.1:{server.port} does not offer it"
    )


def test_outbox_send_with_idn_addresses_exits_0_without_a_traceback(
    idn: App, tmp_path: Path
) -> None:
    """The console script, as an operator runs it: on the old code it exited 1 and left both
    rows `sending`."""
    app = idn
    with smtp_server(smtputf8=False) as server:
        env = {
            **os.environ,
            "MOBILITY_DATABASE_URL": str(app.engine.url),
            "MOBILITY_SECRET_KEY": "test-secret-key",
            "MOBILITY_VAR_DIR": str(tmp_path / "var"),
            "MOBILITY_SMTP_HOST": "127.0.0.1",
            "MOBILITY_SMTP_PORT": str(server.port),
        }
        env.pop("MOBILITY_DEBUG", None)
        run = subprocess.run(
            [sys.executable, "-m", "cli.main", "outbox", "send", "--as-of", DAY.isoformat()],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stdout.strip() == "claimed 2  sent 1  retried 0  dead 1  cancelled 0"
    assert run.stderr.strip() == (
        "note: 1 message is dead; `mobility outbox --state dead` says why"
    )
    assert {status for status, _ in rows(app).values()} == {"sent", "dead"}


# --- anything unforeseen, for one message ---------------------------------------------------


def test_an_unforeseen_error_rendering_or_sending_one_message_ends_only_its_attempt(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A rendering bug for one row and a sending bug for another (injected: the code has no
    known one left): both retried with the error recorded and logged once, the other rows
    sent, the connection after the failed one reopened, nothing left `sending`."""
    import notifications.render as render

    load_examples(app)
    propose_example(app, as_of=DAY)
    with smtp_server() as server:
        assert deliver(app, server).sent == 2  # the example's own two
    queue_rows(app, 6)
    real_render = render.render_message

    def render_with_a_bug(session: Any, message: OutboxMessage, **kwargs: Any) -> Any:
        if message.to_email == "person1@example.org":
            raise KeyError("a template variable nobody set")
        return real_render(session, message, **kwargs)

    real_sendmail = aiosmtplib.SMTP.sendmail

    def sendmail_with_a_bug(self: aiosmtplib.SMTP, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        if args[1] == ["person2@example.org"]:
            raise LookupError("an encoding nobody registered")
        return real_sendmail(self, *args, **kwargs)

    monkeypatch.setattr(render, "render_message", render_with_a_bug)
    monkeypatch.setattr(aiosmtplib.SMTP, "sendmail", sendmail_with_a_bug)
    caplog.set_level(logging.ERROR, logger="notifications.outcomes")
    with smtp_server() as server:
        report = deliver(app, server, delivery_parallel_connections=1)
        assert (report.claimed, report.sent, report.retried, report.dead) == (6, 4, 2, 0)
        assert server.received == 4
    found = rows(app)
    assert "sending" not in {status for status, _ in found.values()}
    assert found["person1@example.org"] == (
        "pending",
        "unexpected KeyError while rendering: 'a template variable nobody set'",
    )
    assert found["person2@example.org"] == (
        "pending",
        "unexpected LookupError while sending: an encoding nobody registered",
    )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage().split(":")[0] for r in errors] == [
        f"outbox {report.retried_ids[0]}",
        f"outbox {report.retried_ids[1]}",
    ]
    assert all(r.exc_info is None for r in errors)  # one line each, no traceback
    # Once the bug is gone, the next run sends them.
    monkeypatch.undo()
    with smtp_server() as server:
        assert deliver(app, server, now=DAY + LATER).sent == 2


def test_outbox_send_reports_and_exits_0_when_one_message_hits_an_unforeseen_error(
    app: App,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`mobility outbox send` in this process (the console script's ``main``), with a sending
    bug injected for one message."""
    from cli.common import get_app
    from cli.main import main
    from config import get_settings

    load_examples(app)
    propose_example(app, as_of=DAY)
    real_sendmail = aiosmtplib.SMTP.sendmail

    def sendmail_with_a_bug(self: aiosmtplib.SMTP, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        if args[1] == ["eva.holm@verktyg.example"]:
            raise RuntimeError("nobody saw this coming")
        return real_sendmail(self, *args, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "sendmail", sendmail_with_a_bug)
    with smtp_server() as server:
        code = _run_cli(
            monkeypatch,
            main,
            [get_settings.cache_clear, get_app.cache_clear],
            {
                "MOBILITY_DATABASE_URL": str(app.engine.url),
                "MOBILITY_SECRET_KEY": "test-secret-key",
                "MOBILITY_VAR_DIR": str(tmp_path / "var"),
                "MOBILITY_SMTP_HOST": "127.0.0.1",
                "MOBILITY_SMTP_PORT": str(server.port),
            },
            ["outbox", "send", "--as-of", DAY.isoformat()],
        )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == "claimed 2  sent 1  retried 1  dead 0  cancelled 0"
    assert "Traceback" not in out + err
    assert "sending" not in {status for status, _ in rows(app).values()}


def _run_cli(
    monkeypatch: pytest.MonkeyPatch,
    main: Callable[[], None],
    caches: list[Callable[[], None]],
    env: dict[str, str],
    argv: list[str],
) -> int:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MOBILITY_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["mobility", *argv])
    for clear in caches:
        clear()
    try:
        main()
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        for clear in caches:
            clear()


def test_the_test_server_offers_smtputf8_only_when_asked() -> None:
    import asyncio

    async def offers(server: SmtpTestServer) -> bool:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port)
        await client.connect()
        await client.ehlo()
        offered = client.supports_extension("smtputf8")
        await client.quit()
        return offered

    for smtputf8 in (True, False):
        with smtp_server(smtputf8=smtputf8) as server:
            assert asyncio.run(offers(server)) is smtputf8
