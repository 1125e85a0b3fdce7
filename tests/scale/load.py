"""The people of the scale-out proof: the programme, 2,000 proposals, and a load generator that
reads every email the SMTP sink received and acts on its link as the recipient would.

Most people answer the day the email arrives. Some wait on purpose, so the sweep has work:
the host contact of every 25th placement answers only the first reminder, of every 100th only
the second (the case is escalated first); the participant of every 50th never answers the
evaluation (it is closed at its due date). Every 10th is declined by its manager, and in every
20th the coordinator withdraws it while its host contact approves.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from models import OutboxMessage, Placement, Programme
from models.schemas import PersonIn, ProgrammeIn, ProposalIn
from states.bootstrap import App
from states.errors import MobilityError
from states.lifecycle.evaluation import questions_for
from states.lifecycle.transitions import apply_event
from tests.smtp_server import SmtpTestServer

LINK = re.compile(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]{43}")
COORDINATOR = "kim@univ.example"

PROGRAMME: dict[str, Any] = {
    "key": "scale-2027",
    "name": "Scale 2027",
    "direction": "outgoing",
    "language": "sv",
    "coordinator": {"name": "Kim Koordinator", "email": COORDINATOR},
    "budget_sek": 100_000_000,
    "approvals": ["home_manager", "host_contact"],
    "agreement": {
        "template": "secondment",
        "parties": ["participant", "home_manager", "host_contact"],
    },
    "reminders": {"first_after": 2, "repeat_every": 2, "escalate_after": 4},
    "evaluation": {"respondents": ["participant", "host_contact"], "due_after": 5},
}


def programme() -> ProgrammeIn:
    return ProgrammeIn.model_validate(PROGRAMME)


def proposal(n: int, first_day: date) -> ProposalIn:
    start = first_day + timedelta(days=7 + n % 5)
    return ProposalIn(
        programme="scale-2027",
        participant=PersonIn(
            name=f"Deltagare {n}",
            email=f"participant{n}@univ.example",
            language="sv" if n % 3 else "en",
        ),
        home_organisation=f"Institution {n % 25}",
        home_manager=PersonIn(name=f"Chef {n % 150}", email=f"manager{n % 150}@univ.example"),
        host_organisation=f"Värd {n % 400} AB",
        host_contact=PersonIn(
            name=f"Kontakt {n % 400}", email=f"host{n % 400}@host.example", language="en"
        ),
        start=start,
        end=start + timedelta(days=14),
        extent_percent=20,
        purpose="Scale test placement.",
        value_for_home="Cases.",
        value_for_host="Review.",
    )


def answers_approval(placement_id: int, role: str, kind: str, number: int) -> bool:
    """Whether this person acts on this approval email (request or reminder ``number``)."""
    if role != "host_contact":
        return True
    if placement_id % 100 == 53:
        return kind == "approval_reminder" and number >= 2
    if placement_id % 25 == 3:
        return kind == "approval_reminder"
    return True


class LoadGenerator:
    def __init__(
        self, app: App, smtp: SmtpTestServer, web_ports: list[int], clock: Callable[[], datetime]
    ):
        self.app, self.smtp, self.web_ports, self.clock = app, smtp, web_ports, clock
        self.seen = 0
        self.answers: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.withdraw_races: Counter[str] = Counter()
        self.recent_links: list[str] = []
        self.paused = False
        """While paused, mail waits unread (the people are away): the fault of the Prefect
        server starts with a full inbox, so the links are used while it is down."""
        self.pool = ThreadPoolExecutor(max_workers=12)
        self.futures: set[Future[None]] = set()
        self.lock = threading.Lock()
        # Idle connections are dropped by the client before uvicorn's 5 s keep-alive ends: a
        # request sent on a connection the server is closing fails with a ReadError unanswered.
        limits = httpx.Limits(keepalive_expiry=2.0)
        self.clients = [httpx.Client(timeout=120, limits=limits) for _ in web_ports]
        self.random = random.Random(2027)
        with app.reading() as uow:
            found = uow.session.scalars(
                select(Programme).where(Programme.key == "scale-2027")
            ).one()
            self.forms = {
                (kind, language): self._form(found, kind, language)
                for kind in ("evaluation", "checkin")
                for language in ("sv", "en")
            }

    @staticmethod
    def _form(programme: Programme, kind: str, language: str) -> dict[str, str]:
        values = {"scale": "4", "yesno": "yes", "text": "Det gick bra."}
        form: dict[str, str] = {}
        for question in questions_for(programme, role="participant", language=language, kind=kind):
            if question.kind in ("multi", "choice"):
                form[question.key] = question.options[0][0]
            else:
                form[question.key] = values[question.kind]
        return form

    def busy(self) -> int:
        """POSTs and withdrawals submitted and not finished."""
        with self.lock:
            self.futures = {f for f in self.futures if not f.done()}
            return len(self.futures)

    def _submit(self, action: Callable[..., None], *args: Any) -> None:
        future = self.pool.submit(action, *args)
        with self.lock:
            self.futures.add(future)

    def _post(self, link: str, data: dict[str, str]) -> None:
        port_index = self.random.randrange(len(self.web_ports))
        url = re.sub(r":\d+/", f":{self.web_ports[port_index]}/", link, count=1)
        try:
            response = self.clients[port_index].post(url, data=data)
        except httpx.HTTPError as error:
            self.unexpected.append(f"{type(error).__name__} on POST {url}")
            return
        self.answers[str(response.status_code)] += 1
        if response.status_code not in (200, 410):
            self.unexpected.append(f"{response.status_code} on POST {data.get('decision')}")

    def _withdraw(self, reference: str) -> None:
        try:
            apply_event(
                self.app.uow(),
                reference=reference,
                event="withdraw",
                actor=COORDINATOR,
                via="cli",
                comment="Raced an approval on purpose",
                as_of=self.clock(),
            )
            self.withdraw_races["withdraw won"] += 1
        except MobilityError:
            self.withdraw_races["withdraw refused"] += 1

    def step(self) -> int:
        """Act on the mail that arrived since the last call; returns how many arrived."""
        if self.paused:
            return 0
        messages = self.smtp.messages
        fresh, self.seen = messages[self.seen :], len(messages)
        if not fresh:
            return 0
        ids = [str(m["Message-ID"]) for m in fresh]
        with self.app.reading() as uow:
            rows = {
                row.message_id: row
                for row in uow.session.scalars(
                    select(OutboxMessage).where(OutboxMessage.message_id.in_(ids))
                )
            }
        for message, message_id in zip(fresh, ids, strict=True):
            row = rows.get(message_id)
            if row is None:
                self.unexpected.append(f"a message no outbox row sent: {message_id}")
            elif row.placement_id is not None:
                self._act(message, row)
        return len(fresh)

    def _act(self, message: Any, row: OutboxMessage) -> None:
        kind, pid, language = row.kind, int(row.placement_id or 0), row.language
        if kind not in ACTED_ON:
            return
        body = message.get_body(preferencelist=("plain",))
        found = LINK.search(body.get_content() if body else "")
        if found is None:
            self.unexpected.append(f"no link in {kind}")
            return
        link, role = found.group(0), str(row.context.get("recipient_role"))
        self.recent_links = [*self.recent_links[-20:], link]
        if kind.startswith("approval"):
            if not answers_approval(pid, role, kind, int(row.context.get("number") or 0)):
                return
            decline = pid % 10 == 0 and role == "home_manager"
            data = (
                {"decision": "decline", "comment": "Not this term."}
                if decline
                else {"decision": "approve", "comment": ""}
            )
            if pid % 20 == 5 and role == "host_contact" and kind == "approval_request":
                self._submit(self._withdraw, self._reference(pid))
            self._submit(self._post, link, data)
        elif kind.startswith("agreement"):
            self._submit(self._post, link, {"decision": "accept"})
        elif kind.startswith("evaluation"):
            if not (pid % 50 == 11 and role == "participant"):
                self._submit(self._post, link, self.forms[("evaluation", language)])
        else:
            self._submit(self._post, link, self.forms[("checkin", language)])

    def _reference(self, placement_id: int) -> str:
        with self.app.reading() as uow:
            return uow.session.scalars(
                select(Placement.reference).where(Placement.id == placement_id)
            ).one()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for client in self.clients:
            client.close()


ACTED_ON = {
    "approval_request",
    "approval_reminder",
    "agreement_request",
    "agreement_reminder",
    "evaluation_request",
    "evaluation_reminder",
    "checkin_request",
}
