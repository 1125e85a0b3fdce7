"""Personal data: anonymising the people of finished placements once the retention period is
over (``states.privacy.export``: everything stored about a person, GDPR art. 15 and 20).

Anonymising keeps the rows and every figure the reports need (states, dates, amounts, scores,
ticked outcomes); it replaces names and e-mail addresses wherever they are written — the person
row, the outbox, history actors and comments, approval comments, free-text answers, the
agreement documents, any text or JSON column of any table — and deletes the person's link
tokens and the context their emails were rendered from. On SQLite the replaced values do not
stay on disk: every connection runs with ``secure_delete`` (``models.db``) and the purge ends
with a ``wal_checkpoint(TRUNCATE)``, so neither free space, freed pages nor the WAL keep them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import markupsafe
from sqlalchemy import JSON, String, Text, delete, select, update
from sqlalchemy.orm import Session

from models import (
    ActionToken,
    AgreementAcceptance,
    Base,
    OutboxMessage,
    Person,
    Placement,
    Programme,
)
from models.db import WalCheckpoint, truncate_wal
from states.errors import MobilityError
from states.lifecycle.machine import FINAL_STATES
from states.privacy.export import ROLE_COLUMNS
from states.unit_of_work import UnitOfWork


class InsideRetention(MobilityError):
    """The data asked to be purged is still within the retention period."""


# --- purge ----------------------------------------------------------------------------------


@dataclass
class PurgeResult:
    dry_run: bool
    finished_before: date
    placements: int = 0
    """Finished placements old enough to be purged."""
    people: list[int] = field(default_factory=list)
    """Ids of the people anonymised (or who would be)."""
    kept: int = 0
    """People of those placements kept because another placement of theirs is active or
    recent, or because they coordinate a programme."""
    tokens_deleted: int = 0
    emails_scrubbed: int = 0
    texts_scrubbed: dict[str, int] = field(default_factory=dict)
    """``table.column`` → rows where a name or address was replaced."""
    wal: WalCheckpoint | None = None
    """The SQLite WAL after the purge (None on PostgreSQL and in a dry run)."""
    purged: dict[int, tuple[str, str]] = field(default_factory=dict, repr=False)
    """Id → (name, email) as they were: for the copies outside the database (the mail
    catcher's files). Never printed."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "finished_before": self.finished_before.isoformat(),
            "placements": self.placements,
            "people_anonymised": len(self.people),
            "people_kept": self.kept,
            "tokens_deleted": self.tokens_deleted,
            "emails_scrubbed": self.emails_scrubbed,
            "texts_scrubbed": dict(sorted(self.texts_scrubbed.items())),
            "wal_truncated": None if self.wal is None else self.wal.truncated,
        }


def anonymous_name(person_id: int) -> str:
    return f"Anonymised {person_id}"


def anonymous_email(person_id: int) -> str:
    return f"anonymised-{person_id}@invalid"


_WORD = re.compile(r"\w+")
CODE_LENGTH = 64
"""String columns this short hold codes the system writes (states, roles, hashes), never a
name or an address: the scan skips them."""


class _Scrubber:
    """Replaces each purged person's name and address, in any case and in HTML-escaped form,
    by their anonymous stand-ins. Whole names and addresses only: "Anna Berg" is not in
    "Anna Bergström", nor "jan@x.se" in "marjan@x.se"; a full stop may end a sentence after
    either. A value is only matched against the terms whose first word it contains, so the
    cost follows the text, not the number of people purged."""

    def __init__(self, people: Mapping[int, tuple[str, str]]) -> None:
        self.pairs: dict[str, str] = {}
        self.index: dict[str, list[str]] = {}
        for pid, (name, email) in people.items():
            for term, stand_in in ((email, anonymous_email(pid)), (name, anonymous_name(pid))):
                # as written, and as Jinja (markupsafe) or html.escape write it into HTML
                for variant in {term, html.escape(term), str(markupsafe.escape(term))}:
                    words = _WORD.findall(variant.lower())
                    if words:
                        self.pairs[variant.lower()] = stand_in
                        self.index.setdefault(words[0], []).append(variant.lower())

    def _pattern(self, terms: Iterable[str]) -> re.Pattern[str]:
        # Longest first: "Anna Bergström" must win over "Anna Berg".
        alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
        return re.compile(rf"(?<![\w.+-])(?:{alternatives})(?![\w@-]|\.\w)", re.IGNORECASE)

    def text(self, value: str) -> str:
        candidates = {
            t for word in set(_WORD.findall(value.lower())) for t in self.index.get(word, ())
        }
        if not candidates:
            return value
        return self._pattern(candidates).sub(lambda m: self.pairs[m.group(0).lower()], value)

    def mentions(self, value: str) -> bool:
        return self.text(value) != value

    def data(self, value: Any) -> Any:
        """Strings anywhere in a JSON value, keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.data(v) for k, v in value.items()}
        return value


def _text_columns() -> Iterable[tuple[Any, Any, bool]]:
    """(table, column, is_json) for every column that can hold a name or an address; the
    person table is done row by row (other people's names are theirs)."""
    for table in Base.metadata.sorted_tables:
        if table.name == Person.__tablename__:
            continue
        for column in table.columns:
            if isinstance(column.type, JSON):
                yield table, column, True
            elif (
                isinstance(column.type, String | Text)
                and not column.primary_key
                and (column.type.length is None or column.type.length > CODE_LENGTH)
            ):
                yield table, column, False


def _scrub_everywhere(
    session: Session, scrubber: _Scrubber, result: PurgeResult, page_size: int = 1000
) -> None:
    """Every value of every such column, a page of rows at a time. (JSON keeps non-ASCII
    names \\u-escaped, so a LIKE in SQL could not find them.)"""
    for table, column, is_json in _text_columns():
        key = table.primary_key.columns.values()[0]
        clean = scrubber.data if is_json else scrubber.text
        changed = 0
        last = None
        while True:
            query = select(key, column).where(column.is_not(None)).order_by(key).limit(page_size)
            page = session.execute(query if last is None else query.where(key > last)).all()
            if not page:
                break
            last = page[-1][0]
            for row_id, value in page:
                cleaned = clean(value)
                if cleaned != value:
                    session.execute(
                        update(table).where(key == row_id).values({column.key: cleaned})
                    )
                    changed += 1
        if changed:
            result.texts_scrubbed[f"{table.name}.{column.name}"] = changed


def _finished_before(completed_before: date, as_of: datetime, retention_days: int) -> date:
    limit = (as_of - timedelta(days=retention_days)).date()
    if completed_before > limit:
        raise InsideRetention(
            f"purge: {completed_before} is inside the retention period of {retention_days} "
            f"days; the latest date allowed is {limit}"
        )
    return completed_before


def purge(
    uow: UnitOfWork,
    *,
    completed_before: date,
    retention_days: int,
    as_of: datetime | None = None,
    dry_run: bool = False,
    wal_wait_seconds: float = 10.0,
) -> PurgeResult:
    """Anonymise the people of placements that finished (completed, declined, withdrawn,
    cancelled) before ``completed_before``, which must lie outside the retention period. A
    person with any other placement still running or finished more recently is kept, as is
    a programme's coordinator. ``dry_run`` does it all and rolls it back: the counts are real.

    Then, on SQLite, the WAL is folded into the file and truncated, waiting up to
    ``wal_wait_seconds`` for readers of older snapshots; ``result.wal`` says whether it could.
    That runs even when nobody is left to purge, so running the purge again finishes it.
    """
    now = as_of or datetime.now(UTC)
    cutoff = _finished_before(completed_before, now, retention_days)
    result = PurgeResult(dry_run=dry_run, finished_before=cutoff)
    boundary = datetime.combine(cutoff, time(0), tzinfo=uow.config.timezone)
    with uow:
        session = uow.session
        rows = session.execute(
            select(Placement.state, Placement.state_changed_at, *ROLE_COLUMNS.values())
        ).all()
        old: set[int] = set()
        keep: set[int] = set(session.scalars(select(Programme.coordinator_id)))
        for state, changed_at, *people in rows:
            is_old = state in FINAL_STATES and changed_at < boundary
            result.placements += is_old
            (old if is_old else keep).update(people)
        anonymised = set(
            session.scalars(select(Person.id).where(Person.anonymised_at.is_not(None)))
        )
        chosen = sorted(old - keep - anonymised)
        result.kept = len(old & keep - anonymised)
        result.people = chosen
        if chosen:
            _anonymise(session, chosen, now, result)
        if dry_run:
            uow.rollback()
        else:
            uow.commit()
    if not dry_run:
        result.wal = truncate_wal(uow.engine, wait_seconds=wal_wait_seconds)
    return result


def _anonymise(session: Session, ids: Sequence[int], now: datetime, result: PurgeResult) -> None:
    people = {
        p.id: (p.name, p.email) for p in session.scalars(select(Person).where(Person.id.in_(ids)))
    }
    result.purged = people
    # Their links die: nothing may act in their name any more.
    tokens = select(ActionToken.id).where(ActionToken.person_id.in_(ids))
    for model in (AgreementAcceptance, OutboxMessage):
        session.execute(update(model).where(model.token_id.in_(tokens)).values(token_id=None))
    result.tokens_deleted = session.execute(
        delete(ActionToken).where(ActionToken.person_id.in_(ids))
    ).rowcount  # type: ignore[attr-defined]
    # The emails to them keep their kind and status (delivery figures), not their content.
    result.emails_scrubbed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id.in_(ids))
        .values(context={}, subject=None, last_error=None, rendered=None)
    ).rowcount  # type: ignore[attr-defined]
    for pid in ids:
        session.execute(
            update(Person)
            .where(Person.id == pid)
            .values(
                name=anonymous_name(pid),
                email=anonymous_email(pid),
                language=None,
                anonymised_at=now,
            )
        )
    _scrub_everywhere(session, _Scrubber(people), result)


def mention_finder(names_and_emails: Iterable[tuple[str, str]]) -> Callable[[str], bool]:
    """Whether a text names one of these people or gives one of their addresses, matched as
    the purge matches them (whole names and addresses, any case, HTML-escaped too)."""
    return _Scrubber(dict(enumerate(names_and_emails))).mentions
