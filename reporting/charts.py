"""The report's pictures as PNG files, in the programme's language: states and roles in the
glossary's words, numbers by Babel, whole numbers on count axes, the programme in every
title, and a chart with nothing to show says so instead of drawing empty axes. matplotlib is
imported here, on first use, with the Agg backend: no display, and no cost for commands that
draw nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporting.texts import ReportTexts
from states.followup.rows import ProgrammeReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _figure(width: float = 8, height: float = 4.5) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    # A Figure without pyplot: no global state, safe in threads and flows.
    return Figure(figsize=(width, height), layout="constrained")


def _title(axes: Axes, report: ProgrammeReport, title: str) -> None:
    # The programme's name is text, not TeX: a "$\frac{" in it would stop the whole report.
    axes.set_title(f"{title} – {report.name}", parse_math=False)


def _nothing(figure: Figure, report: ProgrammeReport, title: str, message: str) -> Figure:
    """A chart with no data: its title and a sentence, no axes."""
    axes = figure.subplots()
    axes.set_axis_off()
    _title(axes, report, title)
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, fontsize=13)
    return figure


def _whole_numbers(axis: Any, t: ReportTexts) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _: t.number(round(x))))


def funnel_chart(report: ProgrammeReport) -> Figure:
    t = ReportTexts(report.language)
    figure = _figure()
    if not report.placements:
        return _nothing(figure, report, t("funnel"), t("no_placements"))
    axes = figure.subplots()
    states = list(report.funnel)
    counts = [report.funnel[s] for s in states]
    bars = axes.barh([t.words.state_title(s) for s in states], counts, color="#3a6ea5")
    axes.bar_label(bars, labels=[t.number(n) for n in counts], padding=3)
    axes.invert_yaxis()
    _whole_numbers(axes.xaxis, t)
    axes.set_xlabel(t("count_axis"))
    _title(axes, report, t("funnel"))
    return figure


def _sideways() -> dict[str, Any]:
    import matplotlib

    # "orientation" replaced "vert" in matplotlib 3.10; the project allows 3.9.
    if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10):
        return {"orientation": "horizontal"}
    return {"vert": False}


def lead_time_chart(report: ProgrammeReport) -> Figure:
    t = ReportTexts(report.language)
    figure = _figure()
    stages = [s for s in report.lead_times if s.days]
    if not stages:
        return _nothing(figure, report, t("lead_times_chart"), t("no_lead_times"))
    axes = figure.subplots()
    axes.boxplot(
        [list(s.days) for s in stages],
        whis=(10, 90),
        **_sideways(),
        tick_labels=[t.value("stage", s.stage) for s in stages],
    )
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(lambda x, _: t.number(x))
    axes.set_xlabel(t("days_axis"))
    _title(axes, report, t("lead_times_chart"))
    return figure


def budget_chart(report: ProgrammeReport) -> Figure:
    t = ReportTexts(report.language)
    figure = _figure(8, 3)
    money = report.money
    if not (money.budget_sek or money.committed_sek or money.pipeline_sek):
        return _nothing(figure, report, t("budget_chart"), t("no_budget"))
    axes = figure.subplots()
    left = 0
    for status, value, colour in (
        ("committed", money.committed_sek, "#3a6ea5"),
        ("pipeline", money.pipeline_sek, "#9bbbe0"),
    ):
        label = f"{t.value('status', status)} {t.amount(value)}"
        axes.barh([t.column("funding_sek")], [value], left=left, color=colour, label=label)
        left += value
    axes.axvline(
        money.budget_sek,
        color="#b22222",
        linestyle="--",
        label=t("budget_line", amount=t.amount(money.budget_sek)),
    )
    axes.legend(loc="lower right", fontsize="small")
    axes.xaxis.set_major_formatter(lambda x, _: t.number(x / 1e6, decimals=1))
    axes.set_xlabel(t("amount_axis"))
    _title(axes, report, t("budget_chart"))
    return figure


def evaluation_chart(report: ProgrammeReport) -> Figure:
    t = ReportTexts(report.language)
    figure = _figure()
    rows = [r for r in report.scores if r.kind == "evaluation" and r.mean is not None]
    if not rows:
        return _nothing(figure, report, t("evaluation_chart"), t("no_evaluation"))
    axes = figure.subplots()
    questions = list(dict.fromkeys(r.question for r in rows))
    labels = {r.question: r.label for r in rows}
    roles = list(dict.fromkeys(r.role for r in rows))
    width = 0.8 / len(roles)
    for n, role in enumerate(roles):
        means = {r.question: r.mean for r in rows if r.role == role}
        axes.bar(
            [q + n * width for q in range(len(questions))],
            [means.get(q) or 0 for q in questions],
            width,
            label=t.words.role_title(role),
        )
    axes.set_xticks(
        [q + width * (len(roles) - 1) / 2 for q in range(len(questions))],
        [labels[q] for q in questions],
        rotation=15,
    )
    axes.set_ylim(0, 5)
    _whole_numbers(axes.yaxis, t)
    axes.set_ylabel(t("mean_axis"))
    axes.legend(fontsize="small")
    _title(axes, report, t("evaluation_chart"))
    return figure


CHARTS: Mapping[str, Callable[[ProgrammeReport], Figure]] = {
    "funnel": funnel_chart,
    "lead_times": lead_time_chart,
    "budget": budget_chart,
    "evaluation": evaluation_chart,
}


def chart_pngs(report: ProgrammeReport) -> dict[str, bytes]:
    """Every chart as PNG bytes: chart name → image (for a file, or a Prefect artifact)."""
    import io

    drawn = {}
    for name, draw in CHARTS.items():
        buffer = io.BytesIO()
        draw(report).savefig(buffer, format="png", dpi=100)
        drawn[name] = buffer.getvalue()
    return drawn


def write_charts(report: ProgrammeReport, directory: Path) -> dict[str, Path]:
    """Draw every chart into ``directory``; returns chart name → PNG file."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, png in chart_pngs(report).items():
        path = directory / f"{name}.png"
        path.write_bytes(png)
        written[name] = path
    return written
