"""People and organisations of a registration, found by email and name or created on first
mention: a few statements for a whole batch of proposals, not one per row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from models import Organisation, Person, table_of
from models.schemas import PersonIn

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

# Rows per IN (…) list: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 1000


def insert_ignoring_conflicts(
    session: Session, table: Table, values: dict[str, Any] | list[dict[str, Any]]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING (one row, or many in one executemany), so concurrent
    registrations of one person both succeed."""
    if isinstance(values, dict):
        session.execute(_ignoring_conflicts(session, table).values(**values))
    elif values:
        session.execute(_ignoring_conflicts(session, table), values)


def _ignoring_conflicts(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own INSERT, imported from the dialect the engine has loaded already: the
    other one (PostgreSQL's with its four drivers, ~20 ms) is not imported for nothing."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class Directory:
    """People and organisations by email and name, created on first mention, cached per batch."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.people: dict[str, Person] = {}
        self.organisations: dict[str, Organisation] = {}

    def preload_people(self, mentions: Iterable[PersonIn]) -> None:
        """Everyone mentioned, in a few queries: found by email, the missing ones inserted in
        one statement (as first mentioned) and read back. ``person`` then answers from here."""
        first: dict[str, PersonIn] = {}
        for given in mentions:
            if given.email not in self.people:
                first.setdefault(given.email, given)
        self.people.update(self.people_by_email(list(first)))
        missing = [given for email, given in first.items() if email not in self.people]
        if missing:
            insert_ignoring_conflicts(
                self.session,
                table_of(Person),
                [
                    {
                        "email": g.email,
                        "name": g.name,
                        "language": g.language,
                        "created_at": self.now,
                    }
                    for g in missing
                ],
            )
            self.people.update(self.people_by_email([g.email for g in missing]))

    def preload_organisations(self, names: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(n for n in names if n not in self.organisations))
        self.organisations.update(self.organisations_by_name(wanted))
        missing = [name for name in wanted if name not in self.organisations]
        if missing:
            insert_ignoring_conflicts(
                self.session,
                table_of(Organisation),
                [{"name": name, "created_at": self.now} for name in missing],
            )
            self.organisations.update(self.organisations_by_name(missing))

    def people_by_email(self, emails: Sequence[str]) -> dict[str, Person]:
        found: dict[str, Person] = {}
        for chunk in chunks(emails):
            for person in self.session.scalars(select(Person).where(Person.email.in_(chunk))):
                found[person.email] = person
        return found

    def organisations_by_name(self, names: Sequence[str]) -> dict[str, Organisation]:
        found: dict[str, Organisation] = {}
        for chunk in chunks(names):
            query = select(Organisation).where(Organisation.name.in_(chunk))
            for organisation in self.session.scalars(query):
                found[organisation.name] = organisation
        return found

    def person(self, given: PersonIn) -> Person:
        person = self.people.get(given.email)
        if person is None:
            query = select(Person).where(Person.email == given.email)
            person = self.session.scalars(query).one_or_none()
            if person is None:
                insert_ignoring_conflicts(
                    self.session,
                    table_of(Person),
                    {
                        "email": given.email,
                        "name": given.name,
                        "language": given.language,
                        "created_at": self.now,
                    },
                )
                person = self.session.scalars(query).one()
            self.people[given.email] = person
        if person.name != given.name:
            person.name = given.name
        if given.language and person.language != given.language:
            person.language = given.language
        return person

    def organisation(self, name: str) -> Organisation:
        organisation = self.organisations.get(name)
        if organisation is None:
            query = select(Organisation).where(Organisation.name == name)
            organisation = self.session.scalars(query).one_or_none()
            if organisation is None:
                insert_ignoring_conflicts(
                    self.session,
                    table_of(Organisation),
                    {"name": name, "created_at": self.now},
                )
                organisation = self.session.scalars(query).one()
            self.organisations[name] = organisation
        return organisation
