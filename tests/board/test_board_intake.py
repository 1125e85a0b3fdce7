"""Issue 12, intake on the board: a proposal file (CSV as Excel saves it, .xlsx, YAML) is
previewed row by row with every error by row and field, and nothing is written; then one
button registers the whole file, all or nothing; a second upload shows "already registered".
The validation is ``mobility propose``'s (states.intake), not a copy."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from models import BoardUpload, HistoryEntry, Organisation, OutboxMessage, Person, Placement
from states.bootstrap import App
from tests.board.support import (
    AFFILIATION,
    JOHAN,
    PAUS,
    SARA,
    BoardServer,
    csrf_of,
    dev_sign_in,
    forms_of,
    visible_text,
)
from tests.conftest import EXAMPLES
from tests.test_excel_files import _example_rows, xlsx_file

INTAKE = f"/board/programmes/{PAUS}/intake"


def semicolon_csv(rows: list[dict[str, str]], encoding: str) -> bytes:
    """Rows as Excel on a Swedish computer saves them: ``;``, CRLF, in ``encoding``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def with_a_bad_row() -> list[dict[str, str]]:
    rows = _example_rows()
    rows[1] = {**rows[1], "participant_email": "jörgen at univ", "end": "2027-01-01"}
    return rows


def counts(app: App) -> dict[str, int]:
    tables = {
        "placements": Placement,
        "people": Person,
        "organisations": Organisation,
        "history": HistoryEntry,
        "outbox": OutboxMessage,
        "uploads": BoardUpload,
    }
    with app.reading() as uow:
        return {
            name: int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in tables.items()
        }


def upload(
    client: httpx.Client, name: str, content: bytes, *, path: str = INTAKE, csrf: str | None = None
) -> httpx.Response:
    token = csrf if csrf is not None else csrf_of(client.get(path).text)
    return client.post(path, data={"csrf": token}, files={"file": (name, content)})


def register_form(page: str) -> dict[str, str] | None:
    found = [f for f in forms_of(page) if f.action.endswith("/intake/register")]
    return found[0].inputs if found else None


def register(client: httpx.Client, preview: httpx.Response, **extra: str) -> httpx.Response:
    form = register_form(preview.text)
    assert form is not None, visible_text(preview.text)
    return client.post(f"{INTAKE}/register", data={**form, **extra})


@pytest.fixture
def johan(dev_board: BoardServer) -> httpx.Client:
    client = dev_board.client()
    dev_sign_in(client, JOHAN)
    return client


def test_a_bad_row_is_named_by_row_and_field_and_nothing_is_written(
    dev_board: BoardServer, johan: httpx.Client
) -> None:
    before = counts(dev_board.app)
    preview = upload(johan, "förslag.csv", semicolon_csv(with_a_bad_row(), "cp1252"))
    assert preview.status_code == 200, visible_text(preview.text)
    text = visible_text(preview.text)
    assert "Rader i filen: 2; nya: 1; redan registrerade: 0; med fel: 1." in text
    assert "Åsa Öberg" in text and "Region Skåne" in text  # Windows-1252 read as such
    row_two = text.split("Åsa Öberg", 1)[1]
    assert "2 Jörgen Ärlig jörgen at univ Tåg i Tid AB 2027-04-01 – 2027-01-01" in row_two
    assert "participant_email : value is not a valid email address" in row_two
    assert "end : must be after the start date 2027-04-01" in row_two
    assert register_form(preview.text) is None, "a file with errors offers no register button"
    assert "Rätta raderna nedan i filen" in text
    after = counts(dev_board.app)
    assert {k: v for k, v in after.items() if k != "uploads"} == {
        k: v for k, v in before.items() if k != "uploads"
    }, "the preview wrote rows"
    assert after["uploads"] == 1  # the file alone is kept, for the button


def test_the_fixed_file_registers_whole_and_again_is_already_registered(
    dev_board: BoardServer, johan: httpx.Client
) -> None:
    app = dev_board.app
    before = counts(app)
    preview = upload(johan, "förslag.csv", semicolon_csv(_example_rows(), "utf-8-sig"))
    assert "Rader i filen: 2; nya: 2; redan registrerade: 0; med fel: 0." in visible_text(
        preview.text
    )
    assert counts(app)["placements"] == before["placements"]
    done = register(johan, preview)
    assert done.status_code == 200, visible_text(done.text)
    assert "Nya placeringar: 2; redan registrerade: 0." in visible_text(done.text)
    with app.reading() as uow:
        placements = uow.session.scalars(select(Placement).order_by(Placement.id)).all()
        assert [p.state for p in placements] == ["manager_approval", "manager_approval"]
        registered = uow.session.scalars(
            select(HistoryEntry).where(HistoryEntry.event == "register")
        ).all()
        assert {(h.actor, h.via) for h in registered} == {(JOHAN, "board")}
        references = [p.reference for p in placements]
    assert counts(app)["uploads"] == 0, "a registered file is not kept"
    # The same button again: the file is gone, nothing more is registered.
    assert register(johan, preview).status_code == 410
    # The same rows again, saved in Windows-1252 this time: already registered.
    again = upload(johan, "förslag-igen.csv", semicolon_csv(_example_rows(), "cp1252"))
    text = visible_text(again.text)
    assert "Rader i filen: 2; nya: 0; redan registrerade: 2; med fel: 0." in text
    assert f"Redan registrerad ({references[0]})" in text
    second = register(johan, again)
    assert "Nya placeringar: 0; redan registrerade: 2." in visible_text(second.text)
    assert "redan registrerad" in visible_text(second.text)
    assert counts(app)["placements"] == before["placements"] + 2


def test_an_xlsx_workbook_and_a_yaml_file_register_as_drafts(
    dev_board: BoardServer, johan: httpx.Client, tmp_path: Path
) -> None:
    workbook = xlsx_file(tmp_path / "förslag.xlsx").read_bytes()
    preview = upload(johan, "förslag.xlsx", workbook)
    text = visible_text(preview.text)
    assert "Rader i filen: 2; nya: 2; redan registrerade: 0; med fel: 0." in text
    assert "Åsa Öberg" in text
    done = register(johan, preview, draft="yes")
    assert "Nya placeringar: 2;" in visible_text(done.text)
    with dev_board.client() as sara:  # the YAML example is a proposal of Sara's programme
        dev_sign_in(sara, SARA)
        path = f"/board/programmes/{AFFILIATION}/intake"
        yaml_preview = upload(
            sara, "proposal.yaml", (EXAMPLES / "proposal.yaml").read_bytes(), path=path
        )
        assert "Rader i filen: 1; nya: 1;" in visible_text(yaml_preview.text)
        form = register_form(yaml_preview.text)
        assert form is not None
        sara.post(f"{path}/register", data={**form, "draft": "yes"})
    with dev_board.app.reading() as uow:
        states = uow.session.scalars(select(Placement.state)).all()
    assert states == ["proposal"] * 3


def test_a_bad_workbook_is_named_by_row_and_field_as_its_csv_would_be(
    johan: httpx.Client, tmp_path: Path
) -> None:
    workbook = xlsx_file(tmp_path / "bad.xlsx", with_a_bad_row()).read_bytes()
    text = visible_text(upload(johan, "bad.xlsx", workbook).text)
    assert "med fel: 1." in text and "participant_email : value is not a valid email" in text


def test_rows_of_another_programme_are_refused_by_row(
    dev_board: BoardServer, johan: httpx.Client
) -> None:
    """Sara uploads paus-2027's rows to her own programme: none may land in either."""
    with dev_board.client() as sara:
        dev_sign_in(sara, SARA)
        path = f"/board/programmes/{AFFILIATION}/intake"
        page = upload(sara, "p.csv", semicolon_csv(_example_rows(), "utf-8-sig"), path=path)
        text = visible_text(page.text)
        assert f"programme : {PAUS} is not this programme ({AFFILIATION})" in text
        assert register_form(page.text) is None
    assert counts(dev_board.app)["placements"] == 0


def test_a_file_without_rows_or_of_another_kind_is_one_clear_answer(
    johan: httpx.Client,
) -> None:
    header_only = upload(johan, "tom.csv", b"programme;participant_name\r\n")
    assert "file : holds no proposals" in visible_text(header_only.text)
    assert register_form(header_only.text) is None
    mixed = upload(johan, "blandad.csv", b"programme;participant_name,participant_email\r\n")
    assert "cannot tell the column separator" in visible_text(mixed.text)
    pdf = upload(johan, "förslag.pdf", b"%PDF-1.7")
    assert pdf.status_code == 400 and "inte förslag.pdf" in visible_text(pdf.text)
    none = johan.post(INTAKE, data={"csrf": csrf_of(johan.get(INTAKE).text)})
    assert none.status_code == 400 and "Ingen fil vald" in visible_text(none.text)


def test_a_file_over_five_megabytes_is_a_clear_413(
    dev_board: BoardServer, johan: httpx.Client
) -> None:
    rows = semicolon_csv(_example_rows(), "utf-8-sig")
    just_over = rows + b"\r\n" * (5 * 1024 * 1024 + 1 - len(rows))
    for content in (just_over, just_over * 2):  # the route's check, then the body limit's
        refused = upload(johan, "stor.csv", content)
        assert refused.status_code == 413
        assert "Tavlan tar emot filer på högst 5 MB" in visible_text(refused.text)
    assert counts(dev_board.app)["uploads"] == 0
    fine = upload(johan, "lagom.csv", rows + b"\r\n" * 1000)
    assert fine.status_code == 200


def test_a_post_without_the_csrf_token_changes_nothing(
    dev_board: BoardServer, johan: httpx.Client
) -> None:
    before = counts(dev_board.app)
    refused = upload(johan, "f.csv", semicolon_csv(_example_rows(), "utf-8-sig"), csrf="wrong")
    assert refused.status_code == 403
    assert counts(dev_board.app) == before
    preview = upload(johan, "f.csv", semicolon_csv(_example_rows(), "utf-8-sig"))
    form = register_form(preview.text)
    assert form is not None
    for token in ("", "wrong"):
        answer = johan.post(f"{INTAKE}/register", data={**form, "csrf": token})
        assert answer.status_code == 403
    assert counts(dev_board.app)["placements"] == before["placements"]


def test_an_upload_is_good_for_its_own_session_only(
    dev_board: BoardServer, johan: httpx.Client
) -> None:
    preview = upload(johan, "f.csv", semicolon_csv(_example_rows(), "utf-8-sig"))
    form = register_form(preview.text)
    assert form is not None
    with dev_board.client() as other:  # Johan again, in another browser
        dev_sign_in(other, JOHAN)
        token = csrf_of(other.get(INTAKE).text)
        answer = other.post(f"{INTAKE}/register", data={**form, "csrf": token})
        assert answer.status_code == 410
    assert counts(dev_board.app)["placements"] == 0
    assert register(johan, preview).status_code == 200


def test_an_upload_is_kept_a_day_at_the_most(programmes: App) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.board.support import Clock
    from web.board.uploads import UploadStore

    clock = Clock(datetime(2027, 3, 1, 9, tzinfo=UTC))
    store = UploadStore(programmes, clock)
    kept = store.keep(secret="s", programme=PAUS, filename="f.csv", content=b"x")
    assert store.find(secret="s", programme=PAUS, token=kept.token) == kept
    assert store.find(secret="other", programme=PAUS, token=kept.token) is None
    assert store.find(secret="s", programme=AFFILIATION, token=kept.token) is None
    clock.now += timedelta(days=1, minutes=1)
    assert store.find(secret="s", programme=PAUS, token=kept.token) is None
    assert counts(programmes)["uploads"] == 0, "a stale upload is deleted, not only ignored"
