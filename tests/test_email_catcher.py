"""Development mail: with no SMTP host, delivery goes to the local catcher, which keeps each
message as ``var/mail/<UTC timestamp>-<seq>.eml``; ``list_mail`` reads them for ``/dev/mail``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from models import ActionToken
from notifications.catcher import start_catcher
from notifications.delivery import deliver_due_sync
from notifications.mailbox import list_mail
from notifications.smtp import SmtpTarget
from states.bootstrap import App
from states.tokens import hash_token
from tests.conftest import load_examples, propose_example
from tests.smtp_server import free_port

DAY = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_without_an_smtp_host_mail_goes_to_the_catcher_and_is_listed(app: App) -> None:
    load_examples(app)
    propose_example(app, as_of=DAY)
    settings = app.settings.model_copy(update={"catcher_port": free_port(), "smtp_host": None})
    target = SmtpTarget.from_settings(settings)
    assert (target.host, target.port) == ("127.0.0.1", settings.catcher_port)
    catcher = start_catcher(settings)
    try:
        report = deliver_due_sync(engine=app.engine, settings=settings, config=app.config, now=DAY)
    finally:
        catcher.stop()
    assert report.sent == 2
    files = sorted(settings.mail_dir.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    assert all(re.fullmatch(r"\d{8}T\d{12}Z-\d{6}\.eml", f.name) for f in files)

    mails = list_mail(settings.mail_dir)
    assert [m.name for m in mails] == sorted((f.name for f in files), reverse=True)
    by_to = {m.to.split("<")[-1].rstrip(">"): m for m in mails}
    assert set(by_to) == {"eva.holm@verktyg.example", "jan.berg@univ.example"}
    eva, jan = by_to["eva.holm@verktyg.example"], by_to["jan.berg@univ.example"]
    assert eva.subject.startswith("Godkännande begärs") and "Hej Eva Holm!" in eva.text
    assert jan.subject.startswith("Approval requested") and '<html lang="en">' in jan.html
    assert eva.date is not None and eva.message_id.startswith("<")
    for mail in mails:
        assert len(mail.links) == 1
        raw = mail.links[0].rsplit("/l/", 1)[1]
        with app.reading() as uow:
            assert (
                uow.session.scalars(
                    select(ActionToken.purpose).where(ActionToken.token_hash == hash_token(raw))
                ).one()
                == "approval"
            )


def test_an_empty_or_missing_mail_folder_is_an_empty_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert list_mail(tmp_path / "nothing-here") == []
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "x.part").write_bytes(b"half a message")
    assert list_mail(tmp_path / "mail") == []
