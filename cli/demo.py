"""``mobility demo``: the whole product in under a minute, on its own database.

Loads the example programmes and proposals, then walks them through their lives with real
emails (delivered over SMTP into the mail catcher) and real link clicks (HTTP GET to look, POST
to decide, against the link web app served in a thread) while time moves with ``as_of``: an
approval, a request for changes, a decline, reminders and an escalation digest, the start, the
midpoint check-in, the end, the evaluation, and a closing at the due date. Prints every email's
subject and every state change as it happens, and ends with the programmes' reports.

Nothing here uses Prefect: the same service functions the flows call run in-process.
"""

from __future__ import annotations

import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from notifications.mailbox import CaughtMail
    from states.bootstrap import App

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEMO_FILES = ("demo.db", "demo.db-wal", "demo.db-shm")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


@dataclass
class Link:
    url: str
    reference: str
    purpose: str
    email: str


@dataclass
class Demo:
    app: App
    base: str
    echo: Any = typer.echo
    now: datetime = field(default_factory=lambda: when("2027-01-11T09:00"))
    last_history: int = 0
    seen_mail: set[str] = field(default_factory=set)
    links: list[Link] = field(default_factory=list)
    sent: int = 0
    changes: int = 0

    def clock(self) -> datetime:
        return self.now

    # --- what happened ----------------------------------------------------------------

    def scene(self, moment: str, title: str) -> None:
        self.now = when(moment)
        self.echo(f"\n{self.now:%a %Y-%m-%d %H:%M}  {title}")

    def report_changes(self) -> None:
        from sqlalchemy import select

        from models import HistoryEntry, Placement

        with self.app.reading() as uow:
            rows = uow.session.execute(
                select(HistoryEntry, Placement.reference)
                .join(Placement, Placement.id == HistoryEntry.placement_id)
                .where(HistoryEntry.id > self.last_history)
                .order_by(HistoryEntry.id)
            ).all()
        for entry, reference in sorted(rows, key=lambda r: (r[0].placement_id, r[0].version)):
            self.last_history = max(self.last_history, entry.id)
            self.changes += 1
            moved = (
                f"{entry.from_state} → {entry.to_state}"
                if entry.from_state
                else f"→ {entry.to_state}"
            )
            if entry.from_state == entry.to_state:
                moved = f"{entry.to_state} (stays)"
            why = f": {entry.comment}" if entry.comment else ""
            self.echo(
                f"  ● {reference}  {moved}  [{entry.event} by {entry.actor} via {entry.via}]{why}"
            )

    def deliver(self) -> None:
        """Send what is due over SMTP to the catcher, then show what arrived."""
        from notifications.delivery import deliver_due_sync
        from notifications.mailbox import list_mail

        app = self.app
        report = deliver_due_sync(
            engine=app.engine, settings=app.settings, config=app.config, now=self.now
        )
        if report.dead or report.retried:
            raise RuntimeError(f"delivery failed: {report.counts()}")
        fresh = [
            m for m in reversed(list_mail(app.settings.mail_dir)) if m.name not in self.seen_mail
        ]
        for mail in fresh:
            self.seen_mail.add(mail.name)
            self.sent += 1
            self.echo(f"  ✉ {mail.to}: {mail.subject}")
            self._remember_link(mail)

    def _remember_link(self, mail: CaughtMail) -> None:
        from sqlalchemy import select

        from models import ActionToken, Person, Placement
        from states.tokens import hash_token

        for url in mail.links:
            if not url.startswith(f"{self.base}/l/"):
                continue
            raw = url.rsplit("/l/", 1)[1]
            with self.app.reading() as uow:
                found = uow.session.execute(
                    select(Placement.reference, ActionToken.purpose, Person.email)
                    .join(Placement, Placement.id == ActionToken.placement_id)
                    .join(Person, Person.id == ActionToken.person_id)
                    .where(ActionToken.token_hash == hash_token(raw))
                ).one_or_none()
            if found is not None:
                self.links.append(Link(url, found[0], found[1], found[2]))

    def step(self) -> None:
        self.report_changes()
        self.deliver()
        self.report_changes()

    # --- people acting --------------------------------------------------------------------

    def click(
        self,
        reference: str,
        email: str,
        decision: str,
        *,
        comment: str | None = None,
        answers: Mapping[str, Sequence[str]] | None = None,
        purpose: str | None = None,
    ) -> None:
        """Open the person's latest link for the placement (GET changes nothing), then press
        the button (POST)."""
        candidates = [
            link
            for link in self.links
            if link.reference == reference
            and link.email == email
            and (purpose is None or link.purpose == purpose)
        ]
        if not candidates:
            raise RuntimeError(f"no link for {email} on {reference}")
        link = candidates[-1]
        with urllib.request.urlopen(link.url, timeout=10) as page:  # the person reads it
            page.read()
        form: dict[str, Any] = {"decision": decision, **(answers or {})}
        if comment:
            form["comment"] = comment
        body = urllib.parse.urlencode(form, doseq=True).encode()
        request = urllib.request.Request(link.url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        self.echo(f"  ↳ {email} opens the link and presses “{decision.replace('_', ' ')}”")
        self.step()

    def coordinator(self, reference: str, event: str, *, comment: str | None = None) -> None:
        from states.lifecycle.transitions import apply_event

        apply_event(
            self.app.uow(),
            reference=reference,
            event=event,
            actor="coordinator",
            via="cli",
            comment=comment,
            as_of=self.now,
        )
        self.echo(f"  ↳ the coordinator runs `mobility placements {event} {reference}`")
        self.step()

    def sweep(self) -> None:
        from states.calendar.sweep import run_sweep

        report = run_sweep(self.app.uow, as_of=self.now)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        self.echo(f"  ⟳ sweep: {counts or 'nothing due'}")
        self.step()


EVALUATION = {
    "goals_reached": ["4"],
    "value_home": ["5"],
    "value_host": ["4"],
    "outcomes": ["course", "student_projects"],
    "again": ["yes"],
    "outcomes_text": ["A new course module and a thesis project."],
}


def story(demo: Demo) -> dict[str, str]:
    """The script. Returns the references by name."""
    from states.intake.input_files import load_programme, load_proposals
    from states.intake.registration import register_programme, register_proposals

    app = demo.app
    demo.scene("2027-01-11T09:00", "The coordinators load two programmes and three proposals")
    for name in ("programme-affiliation.yaml", "programme-paus.yaml"):
        programme, source = load_programme(EXAMPLES / name)
        register_programme(app.uow(), programme=programme, source=source, as_of=demo.now)
        demo.echo(f"  programme {programme.key}: {programme.name}")
    proposals = [
        *load_proposals(EXAMPLES / "proposal.yaml"),
        *load_proposals(EXAMPLES / "proposals.csv"),
    ]
    registered = register_proposals(
        app.uow(),
        proposals=proposals,
        actor="coordinator",
        via="cli",
        as_of=demo.now,
        source="examples",
    )
    daniel, maria, ahmed = (r.reference for r in registered)
    demo.step()

    demo.scene("2027-01-11T10:15", "Managers answer from their inboxes")
    demo.click(daniel, "eva.holm@verktyg.example", "approve")
    demo.click(
        daniel,
        "jan.berg@univ.example",
        "request_changes",
        comment="Please name the thesis topic in the development plan.",
    )
    demo.click(
        ahmed,
        "per.nilsson@univ.example",
        "decline",
        comment="Ahmed teaches the autumn course; let us try next year.",
    )
    demo.click(maria, "per.nilsson@univ.example", "approve")
    demo.click(maria, "lena.strom@region.example", "approve")

    demo.scene("2027-01-11T14:00", "The coordinator revises Daniel's proposal and resubmits it")
    demo.coordinator(daniel, "submit")
    demo.click(daniel, "eva.holm@verktyg.example", "approve")
    demo.click(daniel, "jan.berg@univ.example", "approve")

    demo.scene("2027-01-12T09:00", "Parties accept the agreements; one of them does not")
    for email in (
        "daniel.aberg@verktyg.example",
        "eva.holm@verktyg.example",
        "jan.berg@univ.example",
    ):
        demo.click(daniel, email, "accept")
    for email in ("maria.sjoberg@univ.example", "per.nilsson@univ.example"):
        demo.click(maria, email, "accept")

    demo.scene("2027-01-15T06:30", "The morning sweep: a reminder to whoever has not acted")
    demo.sweep()
    demo.scene(
        "2027-01-21T06:30", "The morning sweep: still waiting, so the coordinator gets a digest"
    )
    demo.sweep()
    demo.scene("2027-01-21T11:00", "Lena accepts after the nudge")
    demo.click(maria, "lena.strom@region.example", "accept")

    demo.scene("2027-02-01T06:30", "Daniel's placement starts")
    demo.sweep()
    demo.scene("2027-03-01T06:30", "Maria's placement starts")
    demo.sweep()
    demo.scene("2027-05-03T06:30", "Halfway: a check-in for Daniel and his host")
    demo.sweep()
    demo.click(
        daniel,
        "daniel.aberg@verktyg.example",
        "answer",
        purpose="checkin",
        answers={"going_well": ["5"]},
    )

    demo.scene("2027-06-01T06:30", "Halfway for Maria")
    demo.sweep()
    demo.click(
        maria,
        "lena.strom@region.example",
        "answer",
        purpose="checkin",
        answers={"going_well": ["4"], "comment": ["Maria needs a desk in the data lab."]},
    )

    demo.scene("2027-07-30T06:30", "Daniel's placement ends: evaluation requests")
    demo.sweep()
    for email in (
        "daniel.aberg@verktyg.example",
        "eva.holm@verktyg.example",
        "jan.berg@univ.example",
    ):
        demo.click(daniel, email, "answer", answers=EVALUATION, purpose="evaluation")

    demo.scene("2027-08-31T06:30", "Maria's placement ends")
    demo.sweep()
    demo.click(
        maria, "maria.sjoberg@univ.example", "answer", answers=EVALUATION, purpose="evaluation"
    )
    demo.scene("2027-09-03T06:30", "Evaluation reminders for who has not answered")
    demo.sweep()
    demo.scene("2027-09-14T06:30", "The evaluation is due: Maria's placement is closed")
    demo.sweep()
    return {"daniel": daniel, "maria": maria, "ahmed": ahmed}


@contextmanager
def demo_stack(var_dir: Path) -> Iterator[Demo]:
    """A fresh demo database, the catcher and the web app on free ports."""
    from config import Settings
    from models.migrate import upgrade
    from notifications.catcher import start_catcher
    from states.bootstrap import bootstrap
    from web.app import create_app
    from web.server import free_port, serving

    var_dir.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:  # only what an earlier demo made
        (var_dir / name).unlink(missing_ok=True)
    shutil.rmtree(var_dir / "mail", ignore_errors=True)
    port = free_port()
    settings = Settings(
        var_dir=var_dir,
        database_url=f"sqlite:///{(var_dir / 'demo.db').as_posix()}",
        base_url=f"http://127.0.0.1:{port}",
        smtp_host=None,
        catcher_port=free_port(),
    )
    upgrade(settings.resolved_database_url)
    app = bootstrap(settings)
    catcher = start_catcher(settings)
    demo = Demo(app=app, base=settings.base_url)
    try:
        with serving(
            create_app(app, dev_mail=True, clock=demo.clock), port=port, log_level="warning"
        ):
            yield demo
    finally:
        catcher.stop()
        app.engine.dispose()


def print_follow_up(walk: Demo, programme: str) -> None:
    """A few figures of the follow-up report (``mobility report`` has them all)."""
    from reporting.tables import report_summary
    from states.followup.figures import build_report

    summary = report_summary(build_report(walk.app.reading(), programme=programme, as_of=walk.now))
    typer.echo(
        f"budget {summary['budget_sek']} SEK, committed {summary['committed_sek']} SEK; "
        f"evaluations answered {summary['evaluations_answered']} of "
        f"{summary['evaluations_asked']}, check-ins {summary['checkins_answered']} of "
        f"{summary['checkins_asked']}; hosts {summary['host_organisations']}"
    )


def demo(
    var_dir: Annotated[
        Path | None,
        typer.Option(
            "--var-dir",
            help="Where the demo keeps its database and mail (default var/demo).",
        ),
    ] = None,
) -> None:
    """Walk the example programmes through their whole lifecycle with real emails and clicks."""
    import time

    from cli.run import print_overview
    from config import get_settings
    from reporting.overview import overview

    folder = var_dir or get_settings().var_dir / "demo"
    started = time.monotonic()
    with demo_stack(folder.resolve()) as walk:
        typer.echo(
            f"Mobility Engine demo: database {walk.app.settings.resolved_database_url}, "
            f"links on {walk.base}"
        )
        story(walk)
        typer.echo("\nWhere the programmes stand:")
        for key in ("affilierad-kompetens-2027", "paus-2027"):
            typer.echo("")
            print_overview(overview(walk.app, key, walk.now))
            print_follow_up(walk, key)
        typer.echo(
            f"\n{walk.sent} emails delivered, {walk.changes} state changes, "
            f"{time.monotonic() - started:.1f} s. Caught mail: {folder / 'mail'}"
        )
