"""The demo's script: the example programmes walked through their whole lifecycle, with
real emails to the local catcher and real clicks on the link pages."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from notifications.mailbox import CaughtMail
    from states.bootstrap import App

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


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
    daniel, maria, ahmed = _proposals(demo)
    _approvals(demo, daniel, maria, ahmed)
    _agreements(demo, daniel, maria)
    _placements(demo, daniel, maria)
    _evaluations(demo, daniel, maria)
    return {"daniel": daniel, "maria": maria, "ahmed": ahmed}


def _proposals(demo: Demo) -> tuple[str, str, str]:
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
    return daniel, maria, ahmed


def _approvals(demo: Demo, daniel: str, maria: str, ahmed: str) -> None:
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


def _agreements(demo: Demo, daniel: str, maria: str) -> None:
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


def _placements(demo: Demo, daniel: str, maria: str) -> None:
    demo.scene(
        "2027-01-28T06:30", "Daniel starts on Monday: the start notice, two business days ahead"
    )
    demo.sweep()
    demo.scene("2027-02-25T06:30", "Maria starts on Monday: her start notice")
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


def _evaluations(demo: Demo, daniel: str, maria: str) -> None:
    demo.scene("2027-08-02T06:30", "Daniel's last day was Friday: evaluation requests")
    demo.sweep()
    for email in (
        "daniel.aberg@verktyg.example",
        "eva.holm@verktyg.example",
        "jan.berg@univ.example",
    ):
        demo.click(daniel, email, "answer", answers=EVALUATION, purpose="evaluation")

    demo.scene("2027-09-01T06:30", "Maria's last day was yesterday")
    demo.sweep()
    demo.click(
        maria, "maria.sjoberg@univ.example", "answer", answers=EVALUATION, purpose="evaluation"
    )
    demo.scene("2027-09-03T06:30", "Evaluation reminders for who has not answered")
    demo.sweep()
    demo.scene("2027-09-14T06:30", "The evaluation is due: Maria's placement is closed")
    demo.sweep()
