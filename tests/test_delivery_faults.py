"""Delivery when the mail server (or the database) misbehaves; each test carries its figure in
its name and prints what it measured. Time moves by passing ``now`` forward, never by
sleeping. Every fault runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import func, select

from models import OutboxMessage
from notifications.outcomes import BACKOFF_CAP, Claimed, DeliveryReport, Prepared, backoff
from notifications.smtp import send_one
from states.bootstrap import App
from tests.conftest import load_examples, propose_example
from tests.smtp_server import SmtpTestServer, free_port, smtp_server
from tests.test_delivery import DAY, deliver, queue_rows

LATER = timedelta(hours=2)  # past any backoff a first few failures schedule


@pytest.fixture
def queued(any_app: App) -> Iterator[App]:
    """The example placement on SQLite and on PostgreSQL, its two first emails already sent."""
    yield from _queued_on(any_app)


def _queued_on(app: App) -> Iterator[App]:
    load_examples(app)
    propose_example(app, as_of=DAY)
    # Send the example's two approval requests first, so every test counts only its own rows.
    with smtp_server() as server:
        assert deliver(app, server).sent == 2
    yield app


def statuses(app: App) -> dict[str, int]:
    with app.reading() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.message_id.like("<bulk-%"))
            .group_by(OutboxMessage.status)
        ).all()
    return {status: count for status, count in rows}


def figure(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n  FIGURE {line}")


def test_421_to_the_first_5_attempts_500_emails_all_delivered_0_duplicated(
    queued: App, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_rows(queued, 500)
    with smtp_server() as server:
        server.faults.fail_first = 5
        first = deliver(queued, server)
        assert (first.claimed, first.sent, first.retried, first.dead) == (500, 495, 5, 0)
        second = deliver(queued, server, now=DAY + LATER)
        assert (second.claimed, second.sent) == (5, 5)
        ids = server.message_ids()
        assert len(ids) == 500 and server.duplicates() == 0
        assert server.handler.failed_data == 5
    assert statuses(queued) == {"sent": 500}
    figure(
        capsys,
        f"421x5 / 500 queued: delivered {len(ids)}, duplicated {server.duplicates()}, "
        f"runs 2, retried {first.retried}",
    )


def test_550_for_10_percent_50_of_500_dead_after_one_attempt_450_delivered(
    queued: App, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_rows(queued, 500)
    refused = {f"person{i}@example.org" for i in range(0, 500, 10)}
    assert len(refused) == 50
    with smtp_server() as server:
        server.faults.refuse = refused
        report = deliver(queued, server)
        assert (report.sent, report.dead, report.retried) == (450, 50, 0)
        # Dead stays dead: a later run does not try them again.
        assert deliver(queued, server, now=DAY + LATER).claimed == 0
        delivered = {m["To"].addresses[0].addr_spec for m in server.messages}
        assert server.handler.refused_rcpts == 50
    with queued.reading() as uow:
        dead = uow.session.execute(
            select(OutboxMessage.to_email, OutboxMessage.attempts, OutboxMessage.last_error).where(
                OutboxMessage.status == "dead"
            )
        ).all()
    assert {d.to_email for d in dead} == refused
    assert all(d.attempts == 1 and "550 5.1.1 Mailbox unavailable" in d.last_error for d in dead)
    assert not delivered & refused and len(delivered) == 450 and server.duplicates() == 0
    figure(
        capsys, f"550 for 10 % of 500: dead {len(dead)} after 1 attempt, delivered {len(delivered)}"
    )


def test_server_down_for_a_while_100_emails_nothing_lost_delivered_once_back(
    queued: App, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_rows(queued, 100)
    server = SmtpTestServer(free_port())  # not started yet: connections are refused
    runs = 0
    for minutes in (0, 30, 90):
        report = deliver(queued, server, now=DAY + timedelta(minutes=minutes))
        runs += 1
        assert report.sent == 0 and report.dead == 0
    assert statuses(queued) == {"pending": 100}
    server.start()
    try:
        report = deliver(queued, server, now=DAY + timedelta(hours=6))
        assert (report.claimed, report.sent) == (100, 100)
        assert len(server.message_ids()) == 100 and server.duplicates() == 0
    finally:
        server.stop()
    assert statuses(queued) == {"sent": 100}
    with queued.reading() as uow:
        attempts = uow.session.scalars(
            select(OutboxMessage.attempts).where(OutboxMessage.message_id.like("<bulk-%"))
        ).all()
    figure(
        capsys,
        f"server down for {runs} runs over 90 min: lost 0, delivered 100 once back, "
        f"duplicated 0, attempts per message {min(attempts)}-{max(attempts)}",
    )


def test_dropped_connection_on_3_attempts_100_emails_all_delivered_0_duplicated(
    queued: App, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_rows(queued, 100)
    with smtp_server() as server:
        server.faults.drop_first = 3
        first = deliver(queued, server)
        assert first.retried == 3 and first.sent == 97
        second = deliver(queued, server, now=DAY + LATER)
        assert second.sent == 3
        assert len(server.message_ids()) == 100 and server.duplicates() == 0
    figure(capsys, "3 dropped connections / 100 queued: delivered 100, duplicated 0")


def test_sender_killed_with_sigkill_mid_batch_held_rows_delivered_by_the_next_run(
    queued: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_rows(queued, 100)
    lease = 10  # seconds, the shortest the settings allow
    with smtp_server() as server:
        server.faults.delay = 0.05  # slow enough to catch the sender in the middle
        env = {
            **os.environ,
            "MOBILITY_DATABASE_URL": queued.settings.resolved_database_url,
            "MOBILITY_SECRET_KEY": "test-secret-key",
            "MOBILITY_VAR_DIR": str(tmp_path / "var"),
            "MOBILITY_SMTP_HOST": "127.0.0.1",
            "MOBILITY_SMTP_PORT": str(server.port),
            "MOBILITY_DELIVERY_LEASE_SECONDS": str(lease),
        }
        sender = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "outbox", "send", "--as-of", DAY.isoformat()],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent,
        )
        deadline = time.monotonic() + 60
        while server.received < 15 and sender.poll() is None:
            assert time.monotonic() < deadline, "the sender never got going"
            time.sleep(0.01)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
        assert sender.returncode == -signal.SIGKILL
        received_before = server.received
        held = statuses(queued).get("sending", 0)
        assert held > 0, "the sender finished before it was killed"

        # While the lease runs, nobody else takes the rows.
        assert deliver(queued, server, now=DAY + timedelta(seconds=lease - 1)).claimed == 0
        server.faults.delay = 0
        # The sender renewed its lease while it lived (every lease/3 s of its run, which the
        # wait above bounds by 60 s); after that it is free for the next run.
        after = deliver(queued, server, now=DAY + timedelta(seconds=lease + 61))
        assert after.claimed == held and after.sent == held
        duplicated = server.duplicates()
        assert len(server.message_ids()) == 100
        # At most the messages in flight on its connections can have gone twice.
        assert duplicated <= queued.settings.delivery_parallel_connections
    assert statuses(queued) == {"sent": 100}
    figure(
        capsys,
        f"SIGKILL mid-batch ({queued.engine.dialect.name}): server had "
        f"{received_before} of 100, the killed sender held {held} rows, "
        f"the next run delivered {after.sent}, went twice: {duplicated}",
    )


# Where the sender's connection is cut: as it marks a message the server accepted as sent, or
# as it reads what a message needs while rendering the batch.
CUT_AT = {
    "the sent mark": lambda statement: (
        statement.startswith("UPDATE outbox") and "sent_at" in statement
    ),
    # a confirmation reads the final agreement for each message it renders
    "a read while rendering": lambda statement: statement.startswith("SELECT agreement_document"),
}
KIND_AT = {"the sent mark": "placement_starts", "a read while rendering": "placement_confirmed"}


@pytest.mark.postgres
@pytest.mark.parametrize("where", sorted(CUT_AT))
def test_database_connection_terminated_mid_batch_100_emails_each_sent_once_none_retried(
    postgres_app: App, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pg_terminate_backend`` on the sender's connection in the middle of a batch: the pool
    hands out a new connection and the work is done again on it. Before, a lost sent mark
    sent the message a second time, and a lost read failed every row left in the batch."""
    from sqlalchemy import create_engine, event, text

    app = next(iter(_queued_on(postgres_app)))
    queue_rows(app, 100, kind=KIND_AT[where])
    admin = create_engine(app.engine.url, isolation_level="AUTOCOMMIT")
    terminated: list[int] = []

    @event.listens_for(app.engine, "before_cursor_execute")
    def terminate_once(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not terminated and server.received >= 3 and CUT_AT[where](statement):
            pid = connection.connection.dbapi_connection.info.backend_pid
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            terminated.append(pid)

    try:
        with smtp_server() as server:
            first = deliver(app, server)
            second = deliver(app, server, now=DAY + LATER)
            ids = server.message_ids()
    finally:
        event.remove(app.engine, "before_cursor_execute", terminate_once)
        admin.dispose()
    assert len(terminated) == 1
    assert (first.sent, first.retried, second.claimed) == (100, 0, 0)
    assert len(ids) == 100 and server.duplicates() == 0
    assert statuses(app) == {"sent": 100}
    figure(
        capsys,
        f"PostgreSQL connection terminated at {where} / 100 queued: delivered 100, "
        f"duplicated {server.duplicates()}, retried {first.retried}",
    )


# --- pure logic -----------------------------------------------------------------------------


class FakeClient:
    """Answers ``sendmail`` as aiosmtplib does when the server took the message but refused
    some of the recipients it was sent to (and only those)."""

    def __init__(self, refusing: dict[str, aiosmtplib.SMTPResponse]) -> None:
        self.refusing = refusing
        self.sent_to: list[list[str]] = []

    async def sendmail(
        self, _sender: str, recipients: list[str], *_args: Any, **_kwargs: Any
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        self.sent_to.append(list(recipients))
        refused = {r: self.refusing[r] for r in recipients if r in self.refusing}
        return refused, "250 OK"


class RecordingOutcomes:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def sent(self, item: Prepared) -> None:
        self.calls.append(("sent", ""))

    def dead(self, row_id: int, attempts: int, error: str) -> None:
        self.calls.append(("dead", error))

    def retry(self, item: Claimed, error: str) -> None:
        self.calls.append(("retry", error))


ONE_MESSAGE = Prepared(
    id=1,
    attempts=0,
    created_at=DAY,
    sender="a@x.example",
    recipient="b@x.example",
    data=b"Subject: s\r\n\r\nbody\r\n",
    subject="s",
)


@pytest.mark.parametrize(("code", "outcome"), [(550, "dead"), (452, "retry")])
def test_partial_refusal_is_detected_not_ignored(code: int, outcome: str) -> None:
    import asyncio

    item = ONE_MESSAGE
    client = FakeClient({"b@x.example": aiosmtplib.SMTPResponse(code, "no such user")})
    outcomes = RecordingOutcomes()
    asyncio.run(send_one(client, item, outcomes))  # type: ignore[arg-type]
    assert client.sent_to == [["b@x.example"]]
    assert outcomes.calls == [(outcome, f"b@x.example: {code} no such user")]


def test_a_message_accepted_for_every_recipient_is_recorded_sent() -> None:
    import asyncio

    item = ONE_MESSAGE
    client = FakeClient({"someone.else@x.example": aiosmtplib.SMTPResponse(550, "no")})
    outcomes = RecordingOutcomes()
    asyncio.run(send_one(client, item, outcomes))  # type: ignore[arg-type]
    assert outcomes.calls == [("sent", "")]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    import random

    rng = random.Random(7)
    for attempts in range(1, 12):
        step = min(BACKOFF_CAP, timedelta(minutes=1) * 2 ** (attempts - 1))
        delay = backoff(attempts, rng=rng)
        assert step * 0.5 <= delay <= step
    assert backoff(30, rng=rng) <= BACKOFF_CAP


def test_report_counts_are_plain_numbers() -> None:
    report = DeliveryReport(claimed=7, sent=3, retried=2, dead=1, cancelled=1, lost_claims=4)
    report.sent_ids.append(99)
    assert report.counts() == {"claimed": 7, "sent": 3, "retried": 2, "dead": 1, "cancelled": 1}
    assert all(type(value) is int for value in report.counts().values())


def test_a_live_sender_renews_its_lease_so_a_slow_batch_is_not_taken_over(queued: App) -> None:
    import asyncio

    from notifications.delivery import _keep_lease, claim_due

    queue_rows(queued, 3)
    lease = timedelta(seconds=0.3)
    ids = claim_due(queued.engine, now=DAY, limit=10, worker_id="slow", lease=lease)
    assert len(ids) == 3

    async def hold_for_a_while() -> None:
        keeper = asyncio.create_task(
            _keep_lease(queued.engine, ids, worker_id="slow", lease=lease, since=DAY)
        )
        await asyncio.sleep(0.25)  # the keeper renews every lease/3 = 0.1 s
        keeper.cancel()

    asyncio.run(hold_for_a_while())
    with queued.reading() as uow:
        leases = uow.session.scalars(
            select(OutboxMessage.lease_expires_at).where(OutboxMessage.id.in_(ids))
        ).all()
    assert all(until is not None and until > DAY + lease for until in leases)
    # Another sender at the first lease's end finds nothing to take.
    assert claim_due(queued.engine, now=DAY + lease, limit=10, worker_id="other", lease=lease) == []


def test_a_run_whose_time_is_up_claims_no_new_batch_and_says_more_is_due(queued: App) -> None:
    """A run stops claiming once ``delivery_run_seconds`` have passed (it finishes the batch it
    holds): runs stay short, and the flow announces the rest so the next run goes on."""
    app = queued
    queue_rows(app, 30)
    with smtp_server() as server:
        first = deliver(app, server, delivery_batch_size=10, delivery_run_seconds=0.001)
        assert (first.sent, first.stopped_early) == (10, True)
        rest = deliver(app, server, delivery_batch_size=10)
        assert (rest.sent, rest.stopped_early) == (20, False)
        assert server.duplicates() == 0
    assert statuses(app) == {"sent": 30}
