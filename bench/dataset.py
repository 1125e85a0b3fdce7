"""A large programme written straight into the tables, fast: the benchmarks measure the sweep,
not the set-up. The rows are what the services would have left behind."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bench.common import load_example_programmes, make_app
from models import (
    ActionToken,
    Approval,
    HistoryEntry,
    Organisation,
    Person,
    Placement,
    Programme,
    ReminderLog,
)
from states.bootstrap import App
from states.business_days import is_business_day

AS_OF = datetime(2027, 3, 10, 6, 0, tzinfo=UTC)  # a Wednesday morning in Stockholm
TODAY = AS_OF.date()
CHUNK = 5000


@dataclass(frozen=True)
class Dataset:
    app: App
    total: int
    due_reminders: int
    due_ends: int


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def build(url: str, *, total: int, due_reminders: int = 100, due_ends: int = 100) -> Dataset:
    """``total`` placements, of which ``due_reminders`` wait for two approvals requested three
    business days ago (first reminders due) and ``due_ends`` end today; the rest are not due:
    completed, future, or running past their start notice and before their midpoint."""
    app = make_app(url)
    load_example_programmes(app)
    now = AS_OF
    requested = datetime.combine(
        _business_days_before(TODAY, 3), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=9)
    with app.engine.begin() as connection:
        programme_id = connection.execute(
            select(Programme.id).where(Programme.key == "paus-2027")
        ).scalar_one()
        connection.execute(
            insert(Person),
            [
                {
                    "email": f"p{n}@bench.example",
                    "name": f"Participant {n}",
                    "language": "sv",
                    "created_at": now,
                }
                for n in range(total)
            ]
            + [
                {
                    "email": f"m{n}@bench.example",
                    "name": f"Manager {n}",
                    "language": "sv",
                    "created_at": now,
                }
                for n in range(200)
            ]
            + [
                {
                    "email": f"h{n}@bench.example",
                    "name": f"Host {n}",
                    "language": "en",
                    "created_at": now,
                }
                for n in range(500)
            ],
        )
        ids = {email: pid for email, pid in connection.execute(select(Person.email, Person.id))}
        connection.execute(
            insert(Organisation),
            [{"name": f"Organisation {n}", "created_at": now} for n in range(500)],
        )
        orgs = {
            name: oid
            for name, oid in connection.execute(select(Organisation.name, Organisation.id))
        }

        placements: list[dict[str, Any]] = []
        kinds: list[str] = []
        for n in range(total):
            if n < due_reminders:
                kind, state, start, end = (
                    "remind",
                    "manager_approval",
                    date(2027, 9, 1),
                    date(2028, 2, 28),
                )
            elif n < due_reminders + due_ends:
                kind, state, start, end = "end", "placement", date(2026, 9, 10), TODAY
            elif n % 3 == 0:
                kind, state, start, end = "done", "completed", date(2025, 1, 1), date(2025, 6, 30)
            elif n % 3 == 1:
                kind, state, start, end = "future", "placement", date(2027, 9, 1), date(2028, 2, 28)
            else:
                kind, state, start, end = (
                    "running",
                    "placement",
                    date(2027, 3, 1),
                    date(2027, 12, 31),
                )
            kinds.append(kind)
            placements.append(
                {
                    "reference": f"PL-2027-{n + 1:06d}",
                    "programme_id": programme_id,
                    "direction": "outgoing",
                    "state": state,
                    "version": 2,
                    "state_changed_at": now - timedelta(days=30),
                    "participant_id": ids[f"p{n}@bench.example"],
                    "home_organisation_id": orgs[f"Organisation {n % 40}"],
                    "home_manager_id": ids[f"m{n % 200}@bench.example"],
                    "host_organisation_id": orgs[f"Organisation {n % 500}"],
                    "host_contact_id": ids[f"h{n % 500}@bench.example"],
                    "start_date": start,
                    "end_date": end,
                    "extent_percent": 20,
                    "purpose": "Benchmark placement.",
                    "development_plan": "",
                    "value_for_home": "Cases.",
                    "value_for_host": "Review.",
                    "student_involvement": "",
                    "funding_sek": 100000,
                    "approval_round": 1,
                    "agreement_version": 0 if kind == "remind" else 1,
                    "created_at": now - timedelta(days=60),
                }
            )
        for rows in _chunks(placements):
            connection.execute(insert(Placement), rows)
        placement_ids = list(
            connection.execute(select(Placement.id).order_by(Placement.id)).scalars()
        )

        history = []
        for pid, row in zip(placement_ids, placements, strict=True):
            history.append(
                {
                    "placement_id": pid,
                    "version": 1,
                    "event": "register",
                    "from_state": None,
                    "to_state": "proposal",
                    "actor": "bench",
                    "via": "cli",
                    "at": now - timedelta(days=60),
                }
            )
            history.append(
                {
                    "placement_id": pid,
                    "version": 2,
                    "event": "bench",
                    "from_state": "proposal",
                    "to_state": row["state"],
                    "actor": "bench",
                    "via": "cli",
                    "at": now - timedelta(days=30),
                }
            )
        for rows in _chunks(history):
            connection.execute(insert(HistoryEntry), rows)

        approvals = []
        started = []
        for pid, row, kind in zip(placement_ids, placements, kinds, strict=True):
            pending = kind == "remind"
            for role, person in (
                ("home_manager", row["home_manager_id"]),
                ("host_contact", row["host_contact_id"]),
            ):
                approvals.append(
                    {
                        "placement_id": pid,
                        "round": 1,
                        "role": role,
                        "person_id": person,
                        "requested_at": requested if pending else now - timedelta(days=50),
                        "decision": None if pending else "approved",
                        "decided_at": None if pending else now - timedelta(days=45),
                    }
                )
            if kind in ("running", "end"):
                for _role, person in (
                    ("participant", row["participant_id"]),
                    ("host_contact", row["host_contact_id"]),
                ):
                    started.append(
                        {
                            "placement_id": pid,
                            "step": "start",
                            "person_id": person,
                            "kind": "start",
                            "number": 1,
                            "at": now - timedelta(days=9),
                        }
                    )
        for rows in _chunks(approvals):
            connection.execute(insert(Approval), rows)
        for rows in _chunks(started):
            connection.execute(insert(ReminderLog), rows)

        minter = app.config.minter
        pending = connection.execute(
            select(Approval.id, Approval.placement_id, Approval.person_id).where(
                Approval.decision.is_(None)
            )
        ).all()
        tokens = []
        for approval_id, pid, person in pending:
            token = minter.mint(
                placement_id=pid,
                person_id=person,
                purpose="approval",
                subject_id=approval_id,
                now=requested,
            )
            tokens.append(
                {
                    "token_hash": token.token_hash,
                    "nonce": token.nonce,
                    "placement_id": pid,
                    "person_id": person,
                    "purpose": "approval",
                    "subject_id": approval_id,
                    "created_at": requested,
                    "expires_at": token.expires_at,
                }
            )
        if tokens:
            connection.execute(insert(ActionToken), tokens)
    return Dataset(app=app, total=total, due_reminders=due_reminders, due_ends=due_ends)


def _business_days_before(day: date, days: int) -> date:
    candidate, counted = day, 0
    while counted < days:
        candidate -= timedelta(days=1)
        counted += is_business_day(candidate)
    return candidate
