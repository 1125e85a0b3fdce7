"""A programme at a glance, as plain data (no Prefect here): the ``programme-report`` flow
publishes it, ``mobility run report`` prints it, ``mobility demo`` ends with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from states.bootstrap import App


def overview(app: App, programme: str, as_of: datetime) -> dict[str, Any]:
    """Counts per state, the longest waits and who holds them, and the follow-up Markdown."""
    from sqlalchemy import func, select

    from models import Placement, Programme
    from states.errors import NotFound
    from states.followup.waiting import waiting_longest

    with app.reading() as uow:
        found = uow.session.scalar(select(Programme.id).where(Programme.key == programme))
        if found is None:
            keys = ", ".join(uow.session.scalars(select(Programme.key).order_by(Programme.key)))
            raise NotFound(f"no programme {programme!r}; programmes are: {keys or 'none yet'}")
        counts = dict(
            uow.session.execute(
                select(Placement.state, func.count())
                .where(Placement.programme_id == found)
                .group_by(Placement.state)
                .order_by(Placement.state)
            ).all()
        )
        waiting = waiting_longest(uow, programme=programme, as_of=as_of)
    return {
        "programme": programme,
        "as_of": as_of.isoformat(),
        "states": counts,
        "waiting_longest": waiting,
        "markdown": follow_up_markdown(app, programme, as_of),
    }


def follow_up_markdown(app: App, programme: str, as_of: datetime) -> str:
    """The follow-up report of ``states.followup.figures`` (figures, lead times, money,
    evaluation)."""
    try:
        from states.followup.figures import build_report, report_markdown
    except ImportError:  # the follow-up module is optional for this first version
        return ""
    return report_markdown(build_report(app.reading(), programme=programme, as_of=as_of))
