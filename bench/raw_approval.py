"""One approval in plain SQL on a DBAPI cursor: the floor the transition and link-POST
benchmarks compare against. The statements are those the project issues for the same act: the
placement and its open approvals read, the decision recorded, and on the last approval the
agreement (a document, three acceptances, three tokens, five outbox rows); then the
compare-and-set UPDATE and the history row. No ORM, no state machine."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

HTML = "<article>agreement</article>" * 40
DIGEST = hashlib.sha256(HTML.encode()).hexdigest()


@dataclass(frozen=True)
class Dialect:
    """What differs between the drivers: the placeholder, the row lock, how a write begins."""

    postgres: bool

    @property
    def lock(self) -> str:
        return " FOR UPDATE" if self.postgres else ""

    @property
    def begin(self) -> str | None:
        return None if self.postgres else "BEGIN IMMEDIATE"

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def claim_token(cursor: Any, d: Dialect, token_hash: str) -> tuple[str, str] | None:
    """Find a link's token by its hash and use it; its placement's reference and role, or None
    when it is unknown or used (the caller answers 410)."""
    cursor.execute(
        d.q(
            "SELECT t.id, p.reference, a.role FROM action_token t "
            "JOIN placement p ON p.id = t.placement_id JOIN approval a ON a.id = t.subject_id "
            "WHERE t.token_hash = ?"
        ),
        (token_hash,),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    cursor.execute(
        d.q("UPDATE action_token SET used_at = ? WHERE id = ? AND used_at IS NULL"),
        (now(), row[0]),
    )
    return (row[1], row[2]) if cursor.rowcount == 1 else None


def _issue_agreement(
    cursor: Any, d: Dialect, pid: int, version: int, people: tuple[int, int, int]
) -> None:
    at = now()
    cursor.execute(
        d.q(
            "INSERT INTO agreement_document (placement_id, version, "
            "template, language, sha256, content_html, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        ),
        (pid, version, "secondment", "sv", DIGEST, HTML, at),
    )
    cursor.execute(
        d.q("SELECT id FROM agreement_document WHERE placement_id = ? AND version = ?"),
        (pid, version),
    )
    document = cursor.fetchone()[0]
    parties = tuple(zip(("participant", "home_manager", "host_contact"), people, strict=True))
    for party_role, person in parties:
        cursor.execute(
            d.q(
                "INSERT INTO agreement_acceptance (placement_id, "
                "document_id, role, person_id, requested_at) VALUES (?, ?, ?, ?, ?)"
            ),
            (pid, document, party_role, person, at),
        )
        nonce = secrets.token_bytes(32)
        cursor.execute(
            d.q(
                "INSERT INTO action_token (token_hash, nonce, placement_id,"
                " person_id, purpose, subject_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (hashlib.sha256(nonce).hexdigest(), nonce, pid, person, "agreement", document, at, at),
        )
    recipients = [*parties, ("participant", people[0]), ("coordinator", people[1])]
    for recipient_role, person in recipients:
        cursor.execute(
            d.q(
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
                at,
                at,
            ),
        )


def approve(cursor: Any, d: Dialect, reference: str, role: str) -> bool:
    """``role`` approves ``reference`` (inside the caller's transaction); False if the
    compare-and-set lost."""
    at = now()
    cursor.execute(
        d.q(
            "SELECT id, state, version, approval_round, agreement_version, "
            "participant_id, home_manager_id, host_contact_id "
            "FROM placement WHERE reference = ?" + d.lock
        ),
        (reference,),
    )
    (pid, _state, version, round_, agreement_version, participant, manager, host) = (
        cursor.fetchone()
    )
    cursor.execute(
        d.q("SELECT id, role, decision FROM approval WHERE placement_id = ? AND round = ?"),
        (pid, round_),
    )
    approvals = cursor.fetchall()
    mine = next(a for a in approvals if a[1] == role)
    cursor.execute(
        d.q("UPDATE approval SET decision = ?, decided_at = ?, via = ? WHERE id = ?"),
        ("approved", at, "link", mine[0]),
    )
    last = all(a[2] is not None for a in approvals if a[0] != mine[0])
    new_state = "agreement" if last else "manager_approval"
    if last:
        _issue_agreement(cursor, d, pid, agreement_version + 1, (participant, manager, host))
    cursor.execute(
        d.q("UPDATE placement SET state = ?, version = ? WHERE id = ? AND version = ?"),
        (new_state, version + 1, pid, version),
    )
    won = bool(cursor.rowcount == 1)
    cursor.execute(
        d.q(
            "INSERT INTO history (placement_id, version, event, from_state, "
            "to_state, actor, via, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        (pid, version + 1, "approve", "manager_approval", new_state, "bench", "link", at),
    )
    return won


def in_transaction(raw: Any, d: Dialect, work: Callable[[Any], bool]) -> bool:
    """Run ``work(cursor)`` in one transaction on the DBAPI connection ``raw``: committed when
    it returns True, rolled back otherwise."""
    cursor = raw.cursor()
    if d.begin:
        cursor.execute(d.begin)
    try:
        done = work(cursor)
    except BaseException:
        raw.rollback()
        raise
    if done:
        raw.commit()
    else:
        raw.rollback()
    return done
