"""The application the flows act on: wired from the environment once per process, or the one a
test (or ``mobility demo``) hands in with ``use_app``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from states.access import ProgrammeAccess
from states.bootstrap import App, bootstrap
from states.errors import NotFound, NotPermitted

_override: list[App] = []


@lru_cache(maxsize=1)
def _from_environment() -> App:
    return bootstrap()


def current_app() -> App:
    return _override[-1] if _override else _from_environment()


@contextmanager
def use_app(app: App) -> Iterator[App]:
    """Run flows in this process against ``app`` (flows run in-process under a harness)."""
    _override.append(app)
    try:
        yield app
    finally:
        _override.remove(app)


def aware(moment: datetime | None, app: App) -> datetime:
    """A flow parameter as an aware datetime: now if missing, the app's zone if naive."""
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(app.settings.timezone))
    return moment


class Coordinators:
    """Who may start a coordinator's flow for which programme: ``states.access`` decides (its
    coordinator, the emails its programme file lists, or an admin of the settings); read once
    per run, before anything is written."""

    def __init__(self, app: App) -> None:
        from states.access import all_programme_access, parse_admins

        self.programmes = {a.key: a for a in all_programme_access(app.reading())}
        self.admins = parse_admins(app.settings.board_admins)

    def known(self, programme: str) -> ProgrammeAccess:
        """The programme of this key; an unknown key is refused with the known ones."""
        found = self.programmes.get(programme)
        if found is None:
            known = ", ".join(sorted(self.programmes)) or "none yet"
            raise NotFound(f"no programme {programme!r}; the programmes are: {known}")
        return found

    def actor(self, *, programme: str, acting_as: str) -> str:
        """``acting_as`` as history records it, if they coordinate ``programme``; else refused."""
        from models.schemas import normalised_email
        from states.access import BoardUser, is_admin, may_see

        access = self.known(programme)
        email = normalised_email(acting_as)
        admin = is_admin(email=email, groups=(), admins=self.admins)
        if not may_see(BoardUser(email=email, name="", groups=frozenset(), admin=admin), access):
            raise NotPermitted(
                f"{email} does not coordinate {programme}; its coordinator is "
                f"{access.coordinator_name} <{access.coordinator_email}>"
            )
        return email


def placement_actor(app: App, *, reference: str, acting_as: str) -> str:
    """Who acts on a placement from a run form: a coordinator of its programme, by email (the
    Prefect UI has no signed-in user to ask, and a run's generated name is nobody)."""
    from states.access import programme_of_placement

    programme = programme_of_placement(app.reading(), reference=reference)
    return Coordinators(app).actor(programme=programme, acting_as=acting_as)
