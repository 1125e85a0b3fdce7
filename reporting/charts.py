"""The report's pictures as PNG files. matplotlib is imported here, on first use, with the Agg
backend: no display, and no cost for commands that draw nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporting.markdown import CHART_TITLES
from states.followup.rows import ProgrammeReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float = 8, height: float = 4.5) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    # A Figure without pyplot: no global state, safe in threads and flows.
    return Figure(figsize=(width, height), layout="constrained")


def funnel_chart(report: ProgrammeReport) -> Figure:
    figure = _figure()
    axes = figure.subplots()
    states = list(report.funnel)
    counts = [report.funnel[s] for s in states]
    bars = axes.barh([s.replace("_", " ") for s in states], counts, color="#3a6ea5")
    axes.bar_label(bars, padding=3)
    axes.invert_yaxis()
    axes.set_xlabel("placements")
    # The programme's name is text, not TeX: a "$\frac{" in it would stop the whole report.
    axes.set_title(f"{CHART_TITLES['funnel']} – {report.name}", parse_math=False)
    return figure


def lead_time_chart(report: ProgrammeReport) -> Figure:
    figure = _figure()
    axes = figure.subplots()
    stages = [t for t in report.lead_times if t.days]
    if stages:
        import matplotlib

        # "orientation" replaced "vert" in matplotlib 3.10; the project allows 3.9.
        sideways: dict[str, Any] = (
            {"orientation": "horizontal"}
            if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10)
            else {"vert": False}
        )
        axes.boxplot(
            [list(t.days) for t in stages],
            whis=(10, 90),
            **sideways,
            tick_labels=[t.stage.replace("_", " ") for t in stages],
        )
        axes.invert_yaxis()
    else:
        axes.text(
            0.5, 0.5, "no placement has passed a stage yet", ha="center", transform=axes.transAxes
        )
    axes.set_xlabel("days (box: quartiles, whiskers: 10th–90th percentile)")
    axes.set_title(CHART_TITLES["lead_times"])
    return figure


def budget_chart(report: ProgrammeReport) -> Figure:
    figure = _figure(8, 3)
    axes = figure.subplots()
    money = report.money
    left = 0
    for label, value, colour in (
        ("committed", money.committed_sek, "#3a6ea5"),
        ("pipeline", money.pipeline_sek, "#9bbbe0"),
    ):
        axes.barh(["funding"], [value], left=left, color=colour, label=f"{label} {value:,} SEK")
        left += value
    axes.axvline(
        money.budget_sek, color="#b22222", linestyle="--", label=f"budget {money.budget_sek:,} SEK"
    )
    axes.legend(loc="lower right", fontsize="small")
    axes.xaxis.set_major_formatter(lambda x, _: f"{x / 1e6:g} M")
    axes.set_xlabel("SEK")
    axes.set_title(CHART_TITLES["budget"])
    return figure


def evaluation_chart(report: ProgrammeReport) -> Figure:
    figure = _figure()
    axes = figure.subplots()
    rows = [r for r in report.scores if r.kind == "evaluation" and r.mean is not None]
    questions = list(dict.fromkeys(r.question for r in rows))
    roles = list(dict.fromkeys(r.role for r in rows))
    width = 0.8 / max(len(roles), 1)
    for n, role in enumerate(roles):
        means = {r.question: r.mean for r in rows if r.role == role}
        axes.bar(
            [q + n * width for q in range(len(questions))],
            [means.get(q) or 0 for q in questions],
            width,
            label=role.replace("_", " "),
        )
    axes.set_xticks(
        [q + width * (len(roles) - 1) / 2 for q in range(len(questions))],
        [q.replace("_", " ") for q in questions],
        rotation=15,
    )
    axes.set_ylim(0, 5)
    axes.set_ylabel("mean score (1–5)")
    if roles:
        axes.legend(fontsize="small")
    else:
        axes.text(0.5, 0.5, "no evaluation answered yet", ha="center", transform=axes.transAxes)
    axes.set_title(CHART_TITLES["evaluation"])
    return figure


CHARTS: Mapping[str, Callable[[ProgrammeReport], Any]] = {
    "funnel": funnel_chart,
    "lead_times": lead_time_chart,
    "budget": budget_chart,
    "evaluation": evaluation_chart,
}


def write_charts(report: ProgrammeReport, directory: Path) -> dict[str, Path]:
    """Draw every chart into ``directory``; returns chart name → PNG file."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, draw in CHARTS.items():
        path = directory / f"{name}.png"
        draw(report).savefig(path, format="png", dpi=100)
        written[name] = path
    return written
