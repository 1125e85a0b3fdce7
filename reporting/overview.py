"""A programme at a glance, as plain data (no Prefect here): the ``programme-report`` flow
publishes it, ``mobility run report`` prints it, ``mobility demo`` ends with it. The figures
come from ``states.followup``; this only puts them together with the Markdown report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from states.bootstrap import App


def overview(
    app: App, programme: str, as_of: datetime | None = None, *, charts: bool = False
) -> dict[str, Any]:
    """Counts per state, the longest waits and who holds them, and the follow-up Markdown:
    as the programme stands now, or (``as_of``) as it stood then, from history; with
    ``charts``, the report's charts as PNG bytes too (under ``charts``)."""
    from reporting.markdown import report_markdown
    from states.followup.figures import build_report
    from states.followup.waiting import waiting_longest

    report = build_report(app.reading(), programme=programme, as_of=as_of)
    with app.reading() as uow:
        waiting = waiting_longest(
            uow, programme=programme, as_of=report.as_of, historical=report.historical
        )
    drawn = {}
    if charts:
        from reporting.charts import chart_pngs

        drawn = {"charts": chart_pngs(report)}
    return {
        **drawn,
        "programme": programme,
        "as_of": report.as_of.isoformat(),
        "states": {state: n for state, n in report.funnel.items() if n},
        "waiting_longest": waiting,
        "markdown": report_markdown(report),
    }
