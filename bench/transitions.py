"""Events per second through the transition service against the same writes in plain SQL.

Both sides start from the same placements waiting for two approvals and apply two ``approve``
events to each, each event its own transaction: the first records a decision (update, history),
the second also moves the placement to ``agreement`` (a document, three acceptances, three
tokens, five outbox rows). The baseline issues exactly those statements through the same DBAPI
driver, with no ORM and no state machine.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.common import Result, fresh_database, load_example_programmes, make_app, proposal_rows
from models.db import get_engine
from models.schemas import ProposalIn
from states.intake.input_files import unflatten, validate_rows
from states.intake.registration import register_proposals
from states.lifecycle.transitions import apply_event

PLACEMENTS = 300


def _setup(url: str) -> tuple[Any, list[str]]:
    app = make_app(url)
    load_example_programmes(app)
    proposals = validate_rows(
        ProposalIn, [unflatten(r) for r in proposal_rows(PLACEMENTS)], source="bench"
    )
    registered = register_proposals(app.uow(), proposals=proposals, actor="bench", via="cli")
    return app, [r.reference for r in registered]


def _project(url: str) -> float:
    app, references = _setup(url)
    started = time.perf_counter()
    for reference in references:
        for role in ("home_manager", "host_contact"):
            apply_event(
                app.uow(),
                reference=reference,
                event="approve",
                role=role,
                actor="bench",
                via="link",
            )
    return 2 * len(references) / (time.perf_counter() - started)


def _baseline(url: str) -> float:
    _app, references = _setup(url)
    engine = get_engine(url)
    postgres = engine.dialect.name == "postgresql"
    p = "%s" if postgres else "?"
    lock = " FOR UPDATE" if postgres else ""
    begin = None if postgres else "BEGIN IMMEDIATE"
    now = datetime.now(UTC).replace(tzinfo=None)
    html = "<article>agreement</article>" * 40
    digest = hashlib.sha256(html.encode()).hexdigest()
    raw = engine.raw_connection()
    cursor = raw.cursor()

    def q(sql: str) -> str:
        return sql.replace("?", p)

    started = time.perf_counter()
    for reference in references:
        for role in ("home_manager", "host_contact"):
            if begin:
                cursor.execute(begin)
            cursor.execute(
                q(
                    "SELECT id, state, version, approval_round, agreement_version, "
                    "participant_id, home_manager_id, host_contact_id "
                    "FROM placement WHERE reference = ?" + lock
                ),
                (reference,),
            )
            (pid, _state, version, round_, agreement_version, participant, manager, host) = (
                cursor.fetchone()
            )
            cursor.execute(
                q("SELECT id, role, decision FROM approval WHERE placement_id = ? AND round = ?"),
                (pid, round_),
            )
            approvals = cursor.fetchall()
            mine = next(a for a in approvals if a[1] == role)
            cursor.execute(
                q("UPDATE approval SET decision = ?, decided_at = ?, via = ? WHERE id = ?"),
                ("approved", now, "link", mine[0]),
            )
            last = all(a[2] is not None for a in approvals if a[0] != mine[0])
            new_state = "agreement" if last else "manager_approval"
            if last:
                cursor.execute(
                    q(
                        "INSERT INTO agreement_document (placement_id, version, "
                        "template, language, sha256, content_html, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)"
                    ),
                    (pid, agreement_version + 1, "secondment", "sv", digest, html, now),
                )
                cursor.execute(
                    q("SELECT id FROM agreement_document WHERE placement_id = ? AND version = ?"),
                    (pid, agreement_version + 1),
                )
                document = cursor.fetchone()[0]
                parties = (
                    ("participant", participant),
                    ("home_manager", manager),
                    ("host_contact", host),
                )
                for party_role, person in parties:
                    cursor.execute(
                        q(
                            "INSERT INTO agreement_acceptance (placement_id, "
                            "document_id, role, person_id, requested_at) "
                            "VALUES (?, ?, ?, ?, ?)"
                        ),
                        (pid, document, party_role, person, now),
                    )
                    nonce = secrets.token_bytes(32)
                    cursor.execute(
                        q(
                            "INSERT INTO action_token (token_hash, nonce, placement_id,"
                            " person_id, purpose, subject_id, created_at, expires_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        ),
                        (
                            hashlib.sha256(nonce).hexdigest(),
                            nonce,
                            pid,
                            person,
                            "agreement",
                            document,
                            now,
                            now,
                        ),
                    )
                recipients = [*parties, ("participant", participant), ("coordinator", manager)]
                for recipient_role, person in recipients:
                    cursor.execute(
                        q(
                            "INSERT INTO outbox (message_id, kind, placement_id, "
                            "person_id, to_email, to_name, language, context, status, "
                            "attempts, next_attempt_at, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        ),
                        (
                            f"<{uuid.uuid4().hex}@bench>",
                            "agreement_request",
                            pid,
                            person,
                            "x@example.org",
                            "X",
                            "sv",
                            json.dumps({"role": recipient_role}),
                            "pending",
                            0,
                            now,
                            now,
                        ),
                    )
            cursor.execute(
                q("UPDATE placement SET state = ?, version = ? WHERE id = ? AND version = ?"),
                (new_state, version + 1, pid, version),
            )
            cursor.execute(
                q(
                    "INSERT INTO history (placement_id, version, event, from_state, "
                    "to_state, actor, via, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (pid, version + 1, "approve", "manager_approval", new_state, "bench", "link", now),
            )
            raw.commit()
    elapsed = time.perf_counter() - started
    raw.close()
    return 2 * len(references) / elapsed


def run(backend: str) -> Result:
    with fresh_database(backend) as url:
        baseline = _baseline(url)
    with fresh_database(backend) as url:
        project = _project(url)
    return Result(
        benchmark="transitions",
        backend=backend,
        project=project,
        baseline=baseline,
        unit="events/s",
        target="≥ 1/3",
        higher_is_better=True,
        met=lambda ratio: ratio >= 1 / 3,
    )
