"""Sent marks written together: on PostgreSQL the marks of the messages the parallel
connections have just sent go to the database in one statement and one commit (one wait for
the disk for several messages); on SQLite, whose commit does not wait for the disk, each is
written as it comes. Either way every message is marked once, with what it was sent as, and a
connection sends its next message only once its last one is marked (the SIGKILL test in
``test_delivery_faults`` holds that bound)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from models import OutboxMessage
from states.bootstrap import App
from tests.conftest import load_examples, propose_example
from tests.smtp_server import smtp_server
from tests.test_delivery import DAY, deliver, queue_rows


@contextmanager
def sent_mark_statements(app: App) -> Iterator[list[int]]:
    """The number of rows each sent-mark statement carried, in order."""
    sizes: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE outbox SET") and "CASE" in statement:
            sizes.append(statement.count(" WHEN "))

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        yield sizes
    finally:
        event.remove(app.engine, "before_cursor_execute", count)


def test_every_message_is_marked_sent_once_with_its_subject(
    any_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    load_examples(any_app)
    propose_example(any_app, as_of=DAY)
    queue_rows(any_app, 60)
    with smtp_server() as server, sent_mark_statements(any_app) as sizes:
        report = deliver(any_app, server, delivery_parallel_connections=3)
        assert report.sent == 62 and len(set(report.sent_ids)) == 62
        assert len(server.messages) == 62 and server.duplicates() == 0
    assert sum(sizes) == 62  # each message's mark written exactly once
    with capsys.disabled():
        print(f"\n  FIGURE {any_app.engine.dialect.name}: 62 sent marks in {len(sizes)} statements")
    if any_app.engine.dialect.name == "postgresql":
        # three connections in flight: most marks share a statement with another's
        assert len(sizes) < 62 * 2 / 3, sizes
    with any_app.reading() as uow:
        rows = uow.session.execute(
            select(
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.subject,
                OutboxMessage.claimed_by,
                OutboxMessage.rendered,
            )
        ).all()
    assert {(status, attempts) for status, attempts, *_ in rows} == {("sent", 1)}
    assert all(
        subject and claimed is None and rendered is None for *_, subject, claimed, rendered in rows
    )
