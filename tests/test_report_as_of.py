"""``mobility report --as-of DATE`` and ``mobility run report --as-of``: the figures as they were
at the end of that day, from history, not today's under another label (issue 11, "The calendar
says the wrong day", third bullet). One placement walked through real dates (Stockholm), and
the 500-placement programme checked at a moment in the middle against the builder's record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import HistoryEntry
from states.bootstrap import App
from states.followup.figures import build_report
from states.followup.rows import ProgrammeReport
from states.lifecycle.amendments import TermsChange, amend_terms
from states.lifecycle.transitions import apply_event
from tests.cli_runner import Run
from tests.conftest import load_examples, make_app, propose_example
from tests.evaluation_forms import submit_evaluation
from tests.programme_builder import Built
from tests.test_cli import cli  # noqa: F401  (the fixture)
from tests.test_report_programme import built_programme, report  # noqa: F401  (fixtures)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PROGRAMME = "affilierad-kompetens-2027"
PARTIES = ("participant", "home_manager", "host_contact")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=STOCKHOLM)


def end_of(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(
        hour=23, minute=59, second=59, microsecond=999999, tzinfo=STOCKHOLM
    )


def walk(app: App) -> str:
    """Registered 1 Dec 2026; approved 3 and 7 Dec; funding amended 0 → 120 000 kr on 10 Dec;
    accepted 14 Dec; 1 Feb–30 Jul 2027; ended the morning of 31 Jul; one answer 3 Aug."""
    load_examples(app)
    ref = propose_example(app, as_of=at("2026-12-01", 9))

    def event(name: str, when: datetime, **kwargs: object) -> None:
        apply_event(
            app.uow(), reference=ref, event=name, actor="t", via="link", as_of=when, **kwargs
        )

    event("approve", at("2026-12-03"), role="home_manager")
    event("approve", at("2026-12-07"), role="host_contact")
    amend_terms(
        app.uow(),
        reference=ref,
        changes=TermsChange(funding_sek=120_000),
        actor="sara",
        via="cli",
        as_of=at("2026-12-10"),
    )
    for role in PARTIES:
        event("accept", at("2026-12-14"), role=role)
    event("end", at("2027-07-31", 6))
    submit_evaluation(
        app.uow(),
        reference=ref,
        role="participant",
        form={"goals_reached": ["4"], "value_home": ["5"], "value_host": ["4"], "again": ["yes"]},
        actor="p",
        via="link",
        as_of=at("2027-08-03"),
    )
    return ref


def _report(app: App, day: str | None) -> ProgrammeReport:
    return build_report(app.reading(), programme=PROGRAMME, as_of=end_of(day) if day else None)


def _state(figures: ProgrammeReport) -> list[str]:
    return [state for state, n in figures.funnel.items() for _ in range(n)]


def test_each_day_reads_as_it_stood_then(app: App) -> None:
    walk(app)
    assert _report(app, "2026-11-30").placements == 0
    then = _report(app, "2026-12-05")
    assert _state(then) == ["manager_approval"] and then.historical
    rates = {r.measure: r.placements for r in then.rates}
    assert rates["submitted"] == 1 and rates["approved"] == 0
    assert [(r.reference, r.funding_sek, r.status) for r in then.money_by_placement] == [
        ("PL-2027-0001", 0, "pipeline")
    ]
    assert _state(_report(app, "2026-12-08")) == ["agreement"]
    # the amendment came on 10 Dec: before it the funding was 0, after it 120 000
    assert _report(app, "2026-12-09").money.pipeline_sek == 0
    assert _report(app, "2026-12-10").money.pipeline_sek == 120_000
    accepted = _report(app, "2026-12-14")
    assert _state(accepted) == ["placement"]
    assert (accepted.money.committed_sek, accepted.money.pipeline_sek) == (120_000, 0)
    stages = {t.stage: t for t in accepted.lead_times}
    assert stages["proposal_to_agreement"].median_days == pytest.approx(13.04, abs=0.01)
    # the last day of the placement is a day of it; the end is recorded the morning after
    assert _state(_report(app, "2027-07-30")) == ["placement"]
    assert _report(app, "2027-07-30").responses == {}
    ended = _report(app, "2027-08-02")
    assert _state(ended) == ["evaluation"]
    assert ended.responses == {"evaluation": {"asked": 3, "answered": 0}}
    answered = _report(app, "2027-08-03")
    assert answered.responses == {"evaluation": {"asked": 3, "answered": 1}}
    assert [s.answers for s in answered.scores if s.question == "goals_reached"] == [1]
    assert not _report(app, None).historical and _state(_report(app, None)) == ["evaluation"]


def test_an_amendment_records_the_terms_it_changed(app: App) -> None:
    walk(app)
    with app.reading() as uow:
        amended = uow.session.scalars(
            select(HistoryEntry).where(HistoryEntry.event == "amend")
        ).one()
    assert amended.terms == {"funding_sek": [0, 120_000]}


def _cli_app(tmp_path: Path) -> App:
    return make_app(f"sqlite:///{tmp_path / 'mobility.db'}", tmp_path / "var")


def test_mobility_report_and_run_report_take_the_date_at_its_end(
    cli: Callable[..., Run],  # noqa: F811
    tmp_path: Path,
) -> None:
    app = _cli_app(tmp_path)
    walk(app)
    then = cli("report", PROGRAMME, "--as-of", "2026-12-05", "--format", "json")
    assert then.code == 0, then.err
    summary = then.json()["summary"]  # type: ignore[index]
    assert summary["as_of"].startswith("2026-12-05T23:59:59")
    funnel = {row["state"]: row["placements"] for row in then.json()["tables"]["funnel"]}  # type: ignore[index]
    assert funnel["manager_approval"] == 1 and funnel["evaluation"] == 0
    run = cli("run", "report", PROGRAMME, "--as-of", "2026-12-05")
    assert run.code == 0, run.err
    assert "manager_approval  1" in run.out
    # waiting then: the host contact, asked on 1 Dec; the manager had approved on 3 Dec
    waiting = [line for line in run.out.splitlines() if line.startswith("PL-2027-0001")]
    assert len(waiting) == 1 and "Jan Berg (host_contact)" in waiting[0], run.out
    assert "2026-12-01" in waiting[0] and "Eva Holm" not in waiting[0]
    now = cli("run", "report", PROGRAMME)
    assert "evaluation  1" in now.out and "manager_approval" not in now.out
    assert cli("report", PROGRAMME, "--as-of", "5 december").code == 2


def test_the_built_programme_in_the_middle_of_its_year(
    built_programme: tuple[App, Built],  # noqa: F811
    report: ProgrammeReport,  # noqa: F811
) -> None:
    """As of 1 Nov 2026 only what the builder did by then counts: registrations, approvals,
    acceptances; the report of everything is the report as of a moment after it all."""
    app, built = built_programme
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    then = build_report(app.reading(), programme=built.programme, as_of=moment)
    registered = [r for r in built.records if r.submitted_at and r.submitted_at <= moment]
    assert then.placements <= len(built.records)
    assert sum(then.funnel.values()) == then.placements
    rates = {r.measure: r for r in then.rates}
    assert rates["submitted"].placements == len(registered)
    stages = {t.stage: t.placements for t in then.lead_times}
    assert stages["proposal_to_agreement"] == sum(
        1 for r in built.records if r.accepted_at and r.submitted_at and r.accepted_at <= moment
    )
    assert then.responses.get("evaluation", {}).get("answered", 0) == 0
    later = build_report(
        app.reading(), programme=built.programme, as_of=built.as_of + timedelta(days=1)
    )
    assert later.funnel == report.funnel and later.money == report.money
    assert later.lead_times == report.lead_times and later.scores == report.scores
    assert date(2026, 11, 1) == then.as_of.date()


def test_who_was_waiting_then_is_who_waits_now_once_nothing_happened_since(
    built_programme: tuple[App, Built],  # noqa: F811
) -> None:
    """The step registry's "pending at a moment" agrees with its "pending now" on 500
    placements in every state, and an earlier moment finds other people."""
    from states.followup.waiting import waiting_longest

    app, built = built_programme
    after = built.as_of + timedelta(days=1)
    with app.reading() as uow:
        now = waiting_longest(uow, programme=built.programme, as_of=after, limit=400)
        then = waiting_longest(
            uow, programme=built.programme, as_of=after, limit=400, historical=True
        )
        earlier = waiting_longest(
            uow,
            programme=built.programme,
            as_of=datetime(2026, 10, 1, tzinfo=UTC),
            limit=400,
            historical=True,
        )
    strip = lambda cases: [{**c, "step_key": None} for c in cases]  # noqa: E731
    assert len(now) > 20 and strip(then) == strip(now)
    assert earlier and {c["reference"] for c in earlier} != {c["reference"] for c in now}
