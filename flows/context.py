"""The application the flows act on: wired from the environment once per process, or the one a
test (or ``mobility demo``) hands in with ``use_app``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from states.bootstrap import App, bootstrap

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


def flow_actor() -> str:
    """Who acts when a coordinator starts a flow from the Prefect UI: the flow run, by name."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return "prefect"
    return f"prefect:{context.flow_run.name}"
