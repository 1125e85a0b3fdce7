"""A programme at a glance, as plain data (no Prefect here): the ``programme-report`` flow
publishes it, ``mobility run report`` prints it, ``mobility demo`` ends with it. The figures
come from ``states.followup``; this only puts them together with the Markdown report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from states.bootstrap import App


def overview(app: App, programme: str, as_of: datetime) -> dict[str, Any]:
    """Counts per state, the longest waits and who holds them, and the follow-up Markdown."""
    from states.followup.figures import placements_per_state
    from states.followup.waiting import waiting_longest

    with app.reading() as uow:
        counts = placements_per_state(uow, programme=programme)
        waiting = waiting_longest(uow, programme=programme, as_of=as_of)
    return {
        "programme": programme,
        "as_of": as_of.isoformat(),
        "states": counts,
        "waiting_longest": waiting,
        "markdown": follow_up_markdown(app, programme, as_of),
    }


def follow_up_markdown(app: App, programme: str, as_of: datetime) -> str:
    """The follow-up report (figures, lead times, money, evaluation) as Markdown."""
    from reporting.markdown import report_markdown
    from states.followup.figures import build_report

    return report_markdown(build_report(app.reading(), programme=programme, as_of=as_of))
