"""What the pages say: languages, dates, dead links and why, the agreement and its checksum,
``mobility resend`` and ``mobility web`` with the dev mail page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from states.bootstrap import App
from states.lifecycle.amendments import TermsChange, amend_terms
from tests.conftest import load_examples, propose_example
from tests.test_links import live_links, version_of
from tests.test_web_support import (
    ENDED,
    EVALUATION_FORM,
    NOW,
    PROPOSED,
    Clock,
    all_raw_tokens,
    assert_security_headers,
    served,
)

ROOT = Path(__file__).resolve().parent.parent


def _approve_all(base: str, app: App, ref: str) -> None:
    for raw in live_links(app, ref, "approval").values():
        assert httpx.post(f"{base}/l/{raw}", data={"decision": "approve"}).status_code == 200


def test_pages_speak_the_persons_language_with_long_dates(examples: App) -> None:
    app = examples
    ref = propose_example(app, as_of=PROPOSED)
    links = live_links(app, ref, "approval")
    with served(app, clock=Clock()) as base:
        eva = httpx.get(f"{base}/l/{links['home_manager']}")  # no language: programme's (sv)
        jan = httpx.get(f"{base}/l/{links['host_contact']}")  # language: en
    assert '<html lang="sv">' in eva.text and "1 februari 2027 – 30 juli 2027" in eva.text
    assert "Godkänn" in eva.text and "20 % av arbetstiden" in eva.text
    assert '<html lang="en">' in jan.text and "1 February 2027 – 30 July 2027" in jan.text
    for page in (eva, jan):
        assert page.status_code == 200
        assert page.text.count('name="decision"') == 3
        for value in ("approve", "decline", "request_changes"):
            assert f'name="decision" value="{value}"' in page.text
        assert '<form method="post"' in page.text and "<script" not in page.text
        assert "Co-supervision of one master&#39;s thesis." in page.text  # student involvement
        assert "Real production data" in page.text and "New methods" in page.text  # values


def test_head_answers_like_get_without_a_body(examples: App) -> None:
    app = examples
    ref = propose_example(app, as_of=PROPOSED)
    raw = live_links(app, ref, "approval")["home_manager"]
    with served(app, clock=Clock()) as base:
        head = httpx.head(f"{base}/l/{raw}")
        missing = httpx.head(f"{base}/l/{raw[:-2]}")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"].startswith("text/html")
    assert missing.status_code == 404
    assert version_of(app, ref) == 2


def test_request_changes_confirmation_says_what_happens_next(examples: App) -> None:
    app = examples
    ref = propose_example(app, as_of=PROPOSED)
    raw = live_links(app, ref, "approval")["host_contact"]
    with served(app, clock=Clock()) as base:
        done = httpx.post(
            f"{base}/l/{raw}", data={"decision": "request_changes", "comment": "Please add a plan"}
        )
        again = httpx.get(f"{base}/l/{raw}")
    assert done.status_code == 200 and "You asked for changes." in done.text
    assert "Your comments go to the coordinator, who revises the proposal" in done.text
    assert again.status_code == 410
    assert "You asked for changes on 2 December 2026." in again.text
    assert "Please add a plan" in again.text


def test_agreement_page_shows_the_version_and_its_checksum(examples: App) -> None:
    app = examples
    ref = propose_example(app, as_of=PROPOSED)
    with served(app, clock=Clock()) as base:
        _approve_all(base, app, ref)
        links = live_links(app, ref, "agreement")
        page = httpx.get(f"{base}/l/{links['participant']}")
        wrong = httpx.post(f"{base}/l/{links['participant']}", data={"decision": "approve"})
        # The terms change: every earlier agreement link dies, new ones go out.
        amend_terms(
            app.uow(),
            reference=ref,
            changes=TermsChange(extent_percent=25),
            actor="sara",
            via="cli",
            as_of=NOW,
        )
        old = httpx.get(f"{base}/l/{links['participant']}")
        new = httpx.get(f"{base}/l/{live_links(app, ref, 'agreement')['participant']}")
    assert page.status_code == 200
    assert 'name="decision" value="accept"' in page.text
    assert "Avtalsversion 1" in page.text and '<article class="agreement"' in page.text
    from sqlalchemy import select

    from models import AgreementDocument

    with app.reading() as uow:
        shas = uow.session.scalars(
            select(AgreementDocument.sha256).order_by(AgreementDocument.version)
        ).all()
    assert shas[0] in page.text
    assert wrong.status_code == 400
    assert old.status_code == 410
    assert "Avtalet ändrades 2 december 2026; en ny länk har skickats." in old.text
    assert new.status_code == 200 and "Avtalsversion 2" in new.text and shas[1] in new.text
    assert "25 %" in new.text


def test_answered_evaluation_is_shown_read_only(examples: App) -> None:
    from states.lifecycle.transitions import apply_event

    app = examples
    ref = propose_example(app, as_of=PROPOSED)
    clock = Clock()
    with served(app, clock=clock) as base:
        _approve_all(base, app, ref)
        for raw in live_links(app, ref, "agreement").values():
            assert httpx.post(f"{base}/l/{raw}", data={"decision": "accept"}).status_code == 200
        clock.now = ENDED
        apply_event(app.uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ENDED)
        raw = live_links(app, ref, "evaluation")["participant"]
        form = httpx.get(f"{base}/l/{raw}")
        invalid = httpx.post(
            f"{base}/l/{raw}",
            data={"goals_reached": "7", "again": "maybe", "outcomes_text": "kept"},
        )
        done = httpx.post(f"{base}/l/{raw}", data=EVALUATION_FORM)
        shown = httpx.get(f"{base}/l/{raw}")
    assert form.status_code == 200
    assert form.text.count("<fieldset") == 5 and form.text.count("<legend>") == 5
    assert form.text.count('type="radio"') == 3 * 5 + 2 and 'type="checkbox"' in form.text
    assert invalid.status_code == 400
    assert "Välj ett värde från 1 till 5" in invalid.text and "Svara ja eller nej" in invalid.text
    assert ">kept</textarea>" in invalid.text  # what was typed stays
    assert done.status_code == 200 and "Dina svar är sparade." in done.text
    assert shown.status_code == 410 and "Du svarade 2 augusti 2027." in shown.text
    assert "Ny eller förändrad kurs, Gemensam ansökan" in shown.text
    assert "<form" not in shown.text


# --- the commands ------------------------------------------------------------------------------


def _env(tmp_path: Path, template: Path, **extra: str) -> dict[str, str]:
    shutil.copy(template, tmp_path / "mobility.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOBILITY_")}
    env.update(
        {
            "MOBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'mobility.db'}",
            "MOBILITY_VAR_DIR": str(tmp_path / "var"),
            "MOBILITY_SECRET_KEY": "test-secret-key",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def _mobility(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_mobility_web_serves_links_and_dev_mail_and_logs_no_token(
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    from config import Settings
    from states.bootstrap import bootstrap
    from web.server import free_port

    port, catcher = free_port(), free_port()
    env = _env(
        tmp_path,
        sqlite_template,
        MOBILITY_BASE_URL=f"http://127.0.0.1:{port}",
        MOBILITY_CATCHER_PORT=str(catcher),
    )
    settings = Settings(
        database_url=env["MOBILITY_DATABASE_URL"],
        var_dir=tmp_path / "var",
        secret_key="test-secret-key",
        base_url=env["MOBILITY_BASE_URL"],
        _env_file=None,
    )  # type: ignore[call-arg]
    app = bootstrap(settings)
    load_examples(app)
    # Now, as the CLI would: its commands run on the real clock.
    ref = propose_example(app, as_of=datetime.now(UTC))
    log = (tmp_path / "web.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "web", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "web.log").read_text()
            assert time.monotonic() < deadline, "mobility web did not start"
            time.sleep(0.1)
        sent = _mobility(env, "outbox", "send")
        assert sent.returncode == 0 and "sent 2" in sent.stdout, (sent.stdout, sent.stderr)
        listing = httpx.get(f"{base}/dev/mail")
        assert listing.status_code == 200 and listing.text.count("/dev/mail/") >= 2
        assert_security_headers(listing)
        name = listing.text.split('href="/dev/mail/', 1)[1].split('"', 1)[0]
        message = httpx.get(f"{base}/dev/mail/{name}")
        assert message.status_code == 200 and f"{base}/l/" in message.text
        assert httpx.get(f"{base}/dev/mail/..%2Fmobility.db").status_code == 404
        link = message.text.split(f'href="{base}/l/', 1)[1].split('"', 1)[0]
        assert httpx.get(f"{base}/l/{link}").status_code == 200
        assert httpx.post(f"{base}/l/{link}", data={"decision": "approve"}).status_code == 200
        assert httpx.get(f"{base}/l/{link}").status_code == 410

        before = all_raw_tokens(app)  # the link just used, and the other approver's
        resent = _mobility(env, "resend", ref)
        assert resent.returncode == 0, resent.stderr
        person = resent.stdout.split("new link queued for ", 1)[1].split(": ", 1)[1].split("\n")[0]
        assert person in ("Eva Holm", "Jan Berg")
        assert "sent 1" in _mobility(env, "outbox", "send").stdout
        pages = [httpx.get(f"{base}/l/{raw}") for raw in before]
        assert [p.status_code for p in pages] == [410, 410]
        assert (
            sum(
                "A new link was sent to you on" in p.text
                or "En ny länk skickades till dig" in p.text
                for p in pages
            )
            == 1
        )
        newest = httpx.get(f"{base}/dev/mail").text.split("<tbody>", 1)[1].split("</tr>", 1)[0]
        assert person in newest
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    output = (tmp_path / "web.log").read_text()
    assert "/l/[redacted]" in output, output[-2000:]
    assert "(approval): done" in output  # which link acted: by token id, never the token
    leaked = [raw for raw in all_raw_tokens(app) if raw in output]
    assert leaked == [], "a link token reached the log"
    app.engine.dispose()


def test_resend_refusal_is_one_line_and_a_nonzero_exit(
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    env = _env(tmp_path, sqlite_template)
    result = _mobility(env, "resend", "PL-2099-0001")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["error: no placement with reference PL-2099-0001"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", ["/dev/mail", "/dev/mail/x.eml"])
def test_dev_mail_exists_only_in_dev_mode(examples: App, path: str) -> None:
    with served(examples, clock=Clock()) as base:
        response = httpx.get(f"{base}{path}")
    assert response.status_code == 404
    assert_security_headers(response)


def test_the_front_page_says_what_the_service_is_in_both_languages(examples: App) -> None:
    """The calendar event's URL: the service's address answers, for anyone, in both."""
    with served(examples, clock=Clock()) as base:
        page = httpx.get(f"{base}/")
    assert page.status_code == 200
    assert_security_headers(page)
    assert "<h1>Personrörlighet</h1>" in page.text and "<h2>Staff mobility</h2>" in page.text
    assert "programmets samordnare" in page.text and "the programme&#39;s coordinator" in page.text
