"""Emails per second from the outbox to a local SMTP server, bookkeeping included, against a bare
aiosmtplib loop sending the same messages, built into bytes beforehand, over one reused
connection to the same server.

The baseline once handed aiosmtplib ``EmailMessage`` objects, which it flattens for every send:
that halved the baseline's rate (312–361 against 606–667 emails/s measured side by side) and
made the ratio look better than the issue's definition ("raw aiosmtplib sending pre-built
bytes") allows."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import aiosmtplib
from sqlalchemy import select

from bench.common import (
    ROOT,
    Result,
    fresh_database,
    load_example_programmes,
    make_app,
    proposal_rows,
)
from models import OutboxMessage
from models.schemas import ProposalIn
from notifications.delivery import deliver_due
from notifications.mime import wire_bytes
from notifications.render import render_message
from notifications.smtp import SmtpTarget
from states.intake.input_files import unflatten, validate_rows
from states.intake.registration import register_proposals

PROPOSALS = 500  # two approval requests each
ROUNDS = 3
"""Rounds, each in a fresh database, baseline then project; the best of each side counts (as
the sweep's and the link pages' rounds do): one round of 1,000 emails moved by a fifth between
runs on a quiet machine (SQLite 0.70, 1.04, 0.92 in three runs of the same code)."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _bare_loop(messages: list[tuple[str, str, bytes]], port: int) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    started = time.perf_counter()
    for sender, recipient, data in messages:
        await client.sendmail(sender, [recipient], data)
    elapsed = time.perf_counter() - started
    await client.quit()
    return len(messages) / elapsed


def _round(backend: str, port: int, target: SmtpTarget) -> tuple[float, float, int]:
    """One round in a database of its own: the bare loop over the round's messages, then the
    project delivering the same outbox (emails/s each, and how many the project sent)."""
    with fresh_database(backend) as url:
        app = make_app(url)
        load_example_programmes(app)
        proposals = validate_rows(
            ProposalIn, [unflatten(r) for r in proposal_rows(PROPOSALS)], source="bench"
        )
        register_proposals(app.uow(), proposals=proposals, actor="bench", via="cli")
        now = datetime.now(UTC) + timedelta(seconds=1)
        settings = app.settings
        with app.reading() as uow:
            prepared = []
            for row in uow.session.scalars(select(OutboxMessage)):
                mail = render_message(
                    uow.session,
                    row,
                    wire=True,
                    minter=app.config.minter,
                    base_url=settings.base_url,
                    mail_from=settings.mail_from,
                    timezone=app.config.timezone,
                )
                prepared.append((settings.mail_from, row.to_email, wire_bytes(mail)))
        baseline = asyncio.run(_bare_loop(prepared, port))
        started = time.perf_counter()
        report = asyncio.run(
            deliver_due(
                engine=app.engine, settings=settings, config=app.config, now=now, target=target
            )
        )
        return baseline, report.sent / (time.perf_counter() - started), report.sent


def run(backend: str) -> Result:
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        target = SmtpTarget(host="127.0.0.1", port=port)
        rounds = [_round(backend, port, target) for _ in range(ROUNDS)]
        sent = {round_sent for _, _, round_sent in rounds}
        return Result(
            benchmark="delivery",
            backend=backend,
            project=max(project for _, project, _ in rounds),
            baseline=max(baseline for baseline, _, _ in rounds),
            unit="emails/s",
            target="≥ 0.8",
            higher_is_better=True,
            met=lambda ratio: ratio >= 0.8,
            note=f"{'/'.join(map(str, sorted(sent)))} sent per round; best of {ROUNDS} rounds each",
        )
    finally:
        sink.terminate()
        sink.wait(timeout=10)
