"""The coordinator's desk (issue 12, part 2): the programmes with their funnel, budget and
overdue count; a programme's placements (the same rows as ``mobility list --json``); one
placement whole; and the actions, each through its service, confirmed in words."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from models import HistoryEntry, OutboxMessage, Placement
from states.bootstrap import App
from states.dates import amount_sek, long_date
from states.followup.figures import build_report
from states.glossary import words
from states.lifecycle.transitions import apply_event
from tests.board.support import (
    AFFILIATION,
    JOHAN,
    PAUS,
    SARA,
    BoardServer,
    csrf_of,
    dev_sign_in,
    visible_text,
)
from tests.cli_runner import Run, mobility_runner
from tests.conftest import EXAMPLES, propose_example

# The example proposal is registered and submitted on Tuesday 1 December 2026 at 08:00 UTC;
# its programme (affilierad-kompetens-2027) reminds after 3 business days, escalates after 8.
BEFORE_DUE = datetime(2026, 12, 3, 10, tzinfo=UTC)  # 2 business days
REMINDER_DUE = datetime(2026, 12, 4, 10, tzinfo=UTC)  # 3 business days
ESCALATION_DUE = datetime(2026, 12, 11, 10, tzinfo=UTC)  # 8 business days
DAY = datetime(2026, 12, 2, 9, tzinfo=UTC)
ENDED = datetime(2027, 8, 2, 8, tzinfo=UTC)  # the first business day after the last day


@pytest.fixture
def cli(
    dev_board: BoardServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Run]:
    """``mobility`` on the board's own database."""
    url = dev_board.app.settings.resolved_database_url
    work = tmp_path / "cli"
    work.mkdir()
    return mobility_runner(monkeypatch, capsys, database_url=url, work=work)


@contextlib.contextmanager
def signed_in(board: BoardServer, email: str) -> Iterator[httpx.Client]:
    with board.client() as client:
        dev_sign_in(client, email)
        yield client


def page(client: httpx.Client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:500])
    return answer.text


def post(client: httpx.Client, url: str, **form: str) -> httpx.Response:
    csrf = csrf_of(client.get("/board/").text)
    return client.post(url, data={**form, "csrf": csrf})


def table_rows(html: str, css_class: str) -> list[list[str]]:
    """The visible text of each cell of each body row of the table of ``css_class``."""
    table = re.search(rf'<table class="board-table {css_class}">(.*?)</table>', html, re.S)
    assert table is not None, html[:2000]
    body = table.group(1).split("<tbody>", 1)[1]
    return [
        [visible_text(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def in_agreement(app: App) -> str:
    """The example proposal, approved by both managers: the agreement waits for acceptance."""
    ref = propose_example(app)
    for role in ("home_manager", "host_contact"):
        apply_event(
            app.uow(), reference=ref, event="approve", role=role, actor=role, via="link", as_of=DAY
        )
    return ref


def in_evaluation(app: App) -> str:
    """Accepted, ended, and the participant's evaluation answered; the others still asked."""
    ref = in_agreement(app)
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(
            app.uow(), reference=ref, event="accept", role=role, actor=role, via="link", as_of=DAY
        )
    apply_event(app.uow(), reference=ref, event="end", actor="sweep", via="flow", as_of=ENDED)
    apply_event(
        app.uow(),
        reference=ref,
        event="answer",
        role="participant",
        actor="participant",
        via="link",
        answers={"goals": 4},
        as_of=ENDED,
    )
    return ref


# --- 1. programmes ----------------------------------------------------------------------------


def test_programmes_show_the_funnel_the_budget_and_how_many_are_overdue(
    dev_board: BoardServer,
) -> None:
    app = dev_board.app
    propose_example(app)  # affilierad-kompetens-2027: waits for two approvals
    for now, overdue in ((BEFORE_DUE, "0"), (REMINDER_DUE, "1")):
        dev_board.clock.now = now
        with signed_in(dev_board, SARA) as sara:
            [row] = table_rows(page(sara, "/board/"), "programmes")
        report = build_report(app.reading(), programme=AFFILIATION, as_of=now)
        sv = words("sv")
        funnel = [f"{sv.state_title(s)}: {n}" for s, n in report.funnel.items() if n]
        assert funnel == ["Under godkännande: 1"]
        assert row[1] == " ".join(funnel)
        money = report.money
        budget = (
            f"{amount_sek(money.committed_sek, 'sv')} av {amount_sek(money.budget_sek, 'sv')} "
            f"bundet, {amount_sek(money.remaining_sek, 'sv')} kvar"
        )
        assert row[2] == " ".join(budget.split())  # the page's text, spaces as one
        assert row[3] == overdue


# --- 2. the placements of a programme: mobility list's rows -----------------------------------


def _board_rows(client: httpx.Client, query: str) -> list[list[str]]:
    """The rows of every page of the list, following its "next" links."""
    html = page(client, f"/board/programmes/{PAUS}?{query}")
    if 'class="board-table placements"' not in html:
        assert "Inga placeringar stämmer med urvalet." in visible_text(html)
        return []
    rows = table_rows(html, "placements")
    while following := re.search(r'<a rel="next" href="\?([^"]*)"', html):
        html = page(client, f"/board/programmes/{PAUS}?{unescape(following.group(1))}")
        rows += table_rows(html, "placements")
    return rows


def _as_board_shows(row: dict[str, object]) -> list[str]:
    """A ``mobility list --json`` row as the board's table writes it (Swedish)."""
    sv = words("sv")
    holders = " ".join(
        f"{h['name']} ({sv.role(str(h['role']))})"
        for h in row["holders"]  # type: ignore[attr-defined]
    )
    waited = ""
    if row["waiting_since"]:
        since = date.fromisoformat(str(row["waiting_since"]))
        waited = f"{long_date(since, 'sv')} {row['business_days_waiting']} arbetsdagar"
        if row["past_escalation"]:
            waited += " Försenad, över gränsen för eskalering"
        elif row["overdue"]:
            waited += " Försenad"
    return [
        str(row["reference"]),
        str(row["participant"]),
        str(row["host_organisation"]),
        sv.state_title(str(row["state"])),
        holders,
        waited,
    ]


def test_the_placements_list_is_the_same_as_mobility_list(
    dev_board: BoardServer, cli: Callable[..., Run]
) -> None:
    assert cli("propose", str(EXAMPLES / "proposals.csv")).code == 0  # two, in paus-2027
    assert cli("propose", "--draft", str(EXAMPLES / "proposal.yaml")).code == 0  # Sara's
    first = cli("list", "--programme", PAUS, "--json").json()[0]["reference"]  # type: ignore[index]
    assert cli("withdraw", first, "--reason", "Slutar").code == 0
    selections = [
        ("sort=waiting", ["--by-waiting"]),
        ("", []),
        ("overdue=1", ["--overdue"]),
        ("stage=manager_approval", ["--state", "manager_approval"]),
        ("direction=outgoing", ["--direction", "outgoing"]),
        ("stage=withdrawn&sort=waiting", ["--state", "withdrawn", "--by-waiting"]),
    ]
    start = datetime.now(UTC)
    seen_overdue = False
    for days in (0, 4, 12):
        now = start + timedelta(days=days)
        dev_board.clock.now = now
        with signed_in(dev_board, JOHAN) as johan:
            for query, flags in selections:
                json_rows = cli(
                    "list", "--programme", PAUS, "--json", "--as-of", now.isoformat(), *flags
                ).json()
                assert isinstance(json_rows, list)
                for field in ("waiting_for", "waiting_since", "business_days_waiting", "overdue"):
                    assert all(field in r for r in json_rows), field
                seen_overdue |= any(r["overdue"] for r in json_rows)
                assert _board_rows(johan, query) == [_as_board_shows(r) for r in json_rows], query
    assert seen_overdue, "no placement was ever overdue: the check proved nothing"


def test_a_selection_the_board_does_not_know_is_refused_in_words(dev_board: BoardServer) -> None:
    with signed_in(dev_board, JOHAN) as johan:
        for query in ("stage=nonsense", "direction=up", "sort=name", "overdue=yes"):
            answer = johan.get(f"/board/programmes/{PAUS}?{query}")
            assert answer.status_code == 400, query
            assert "Urvalet i adressen kunde inte läsas" in visible_text(answer.text)


# --- 3. one placement ---------------------------------------------------------------------------


def test_one_placement_shows_facts_history_emails_agreement_and_answers(
    dev_board: BoardServer,
) -> None:
    app = dev_board.app
    ref = in_evaluation(app)
    dev_board.clock.now = ENDED
    with signed_in(dev_board, SARA) as sara:
        text = visible_text(page(sara, f"/board/programmes/{AFFILIATION}/placements/{ref}"))
    assert f"{ref}: Daniel Åberg" in text and "Under utvärdering" in text
    assert "Period 1 februari 2027 till och med 30 juli 2027" in text
    assert "Eva Holm (chef i hemorganisationen)" in text  # still to answer
    sv = words("sv")
    with app.reading() as uow:
        history = uow.session.scalars(
            select(HistoryEntry)
            .join(Placement)
            .where(Placement.reference == ref)
            .order_by(HistoryEntry.version)
        ).all()
        emails = uow.session.scalars(
            select(OutboxMessage).join(Placement).where(Placement.reference == ref)
        ).all()
    for entry in history:  # every event, with who and through what
        what = sv.event_title(entry.event) if entry.event != "register" else "registrerades"
        assert what in text and f"Vem: {entry.actor}" in text, entry.event
    assert "Genom: länk i e-post" in text and "Genom: schemalagd körning" in text
    assert len(emails) > 5
    for message in emails:
        assert message.to_email in text and message.kind in text
    assert text.count("i kö") == len(emails) + 1  # each one queued, and the column "Lagd i kö"
    for role in ("participant", "home_manager", "host_contact"):  # agreement v1 accepted by all
        assert f"1 {sv.role_title(role)}" in text
    assert text.count(f"{sv.row_status('accepted')}") >= 3
    assert "Utvärdering: Daniel Åberg (deltagare)" in text
    assert "Utvärdering: Eva Holm (chef i hemorganisationen) Inte besvarad ännu." in text


# --- 4. actions -------------------------------------------------------------------------------


def _last_history(app: App, ref: str) -> HistoryEntry:
    with app.reading() as uow:
        entry = uow.session.scalars(
            select(HistoryEntry)
            .join(Placement)
            .where(Placement.reference == ref)
            .order_by(HistoryEntry.version.desc())
        ).first()
        assert entry is not None
        return entry


def _messages(app: App, ref: str) -> list[OutboxMessage]:
    with app.reading() as uow:
        return list(
            uow.session.scalars(
                select(OutboxMessage)
                .join(Placement)
                .where(Placement.reference == ref)
                .order_by(OutboxMessage.id)
            )
        )


def test_each_action_goes_through_its_service_and_is_confirmed_in_words(
    dev_board: BoardServer,
) -> None:
    app = dev_board.app
    ref = in_agreement(app)
    url = f"/board/programmes/{AFFILIATION}/placements/{ref}"
    dev_board.clock.now = REMINDER_DUE
    with signed_in(dev_board, SARA) as sara:
        before = len(_messages(app, ref))
        reminded = post(sara, f"{url}/remind")
        assert reminded.status_code == 200
        assert f"{ref}: en påminnelse skickas med e-post till" in visible_text(reminded.text)
        kinds = [m.kind for m in _messages(app, ref)[before:]]
        assert kinds and set(kinds) == {"agreement_reminder"}

        before = len(_messages(app, ref))
        resent = post(sara, f"{url}/resend")
        assert resent.status_code == 200
        assert "De tidigare länkarna fungerar inte längre" in visible_text(resent.text)
        assert {m.kind for m in _messages(app, ref)[before:]} == {"agreement_request"}

        amended = post(sara, f"{url}/amend", extent_percent="30")
        assert amended.status_code == 200 and "extent_percent: 30" in visible_text(amended.text)
        entry = _last_history(app, ref)
        assert (entry.event, entry.actor, entry.via) == ("amend", SARA, "board")

        bad = post(sara, f"{url}/amend", extent_percent="300")
        assert bad.status_code == 400 and "Ingenting har ändrats" in visible_text(bad.text)
        assert _last_history(app, ref).version == entry.version

        no_reason = post(sara, f"{url}/withdraw", reason=" ")
        assert no_reason.status_code == 400
        assert _last_history(app, ref).version == entry.version

        dead = _messages(app, ref)[0]
        with app.uow() as uow:
            uow.session.execute(
                update(OutboxMessage).where(OutboxMessage.id == dead.id).values(status="dead")
            )
            uow.commit()
        assert "Lägg tillbaka i kön" in page(sara, url)
        retried = post(sara, f"{url}/outbox/{dead.id}/retry")
        assert retried.status_code == 200
        assert f"Meddelande {dead.id} till {dead.to_email}" in visible_text(retried.text)
        assert _messages(app, ref)[0].status == "pending"
        again = post(sara, f"{url}/outbox/{dead.id}/retry")
        assert again.status_code == 409  # no longer dead: refused in words, nothing changed

        withdrawn = post(sara, f"{url}/withdraw", reason="Deltagaren har bytt tjänst")
        assert withdrawn.status_code == 200
        assert f"{ref} är nu återkallad" in visible_text(withdrawn.text)
        entry = _last_history(app, ref)
        assert (entry.event, entry.actor, entry.via, entry.comment) == (
            "withdraw",
            SARA,
            "board",
            "Deltagaren har bytt tjänst",
        )
        refused = post(sara, f"{url}/remind")
        assert refused.status_code == 409 and "Ingenting har ändrats" in visible_text(refused.text)
        assert "Skicka en påminnelse nu" not in page(sara, url)  # offered only where it can act


def test_a_draft_is_submitted_and_a_started_placement_cancelled_from_the_board(
    dev_board: BoardServer,
) -> None:
    app = dev_board.app
    draft = propose_example(app, draft=True)
    url = f"/board/programmes/{AFFILIATION}/placements/{draft}"
    with signed_in(dev_board, SARA) as sara:
        assert "Skicka in förslaget för godkännande" in page(sara, url)
        done = post(sara, f"{url}/submit")
        assert done.status_code == 200 and "är inskickat" in visible_text(done.text)
        assert _last_history(app, draft).event == "submit"
        cancelled = post(sara, f"{url}/cancel", reason="Fel")
        assert cancelled.status_code == 409  # not started: the machine refuses, in words
        assert _last_history(app, draft).event == "submit"


def test_every_placement_action_without_or_with_a_wrong_csrf_token_changes_nothing(
    dev_board: BoardServer,
) -> None:
    """Every POST on a placement (read from the route table's list), by its own coordinator
    with a valid form but no or a wrong token: 403, no state, history or email changed."""
    from tests.board.test_board_access import HOW_TO_CALL, Scoped, _counts, _dead_message

    app = dev_board.app
    ref = in_agreement(app)
    dead = _dead_message(app, ref)
    actions = {
        path: how
        for (method, path), how in HOW_TO_CALL.items()
        if method == "POST" and "{reference}" in path and isinstance(how, Scoped)
    }
    assert len(actions) >= 7
    before = _counts(app)
    with signed_in(dev_board, SARA) as sara:
        for path, how in actions.items():
            url = path.format(programme=AFFILIATION, reference=ref, outbox_id=dead)
            for token in ({}, {"csrf": ""}, {"csrf": "x" * 43}):
                refused = sara.post(url, data={**how.form, **token})
                assert refused.status_code == 403, (path, token)
                assert "Ingenting har ändrats" in visible_text(refused.text)
    assert _counts(app) == before
    with app.reading() as uow:
        assert uow.session.get(OutboxMessage, int(dead)).status == "dead"  # type: ignore[union-attr]
