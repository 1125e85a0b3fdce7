"""Render an outbox row into an email at delivery time, from the database and the row's context.

Rows are rendered when they are sent, not when they are queued: a retry resends the same
Message-ID with today's wording, and the raw link token never touches the database.
Headers are built only from ``Address`` objects and sanitised strings, so a name holding
CR/LF or markup can neither add a header nor break the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ActionToken, AgreementDocument, OutboxMessage, Placement
from models.text import single_line
from notifications.ics import placement_event
from states.addresses import AddressError, ascii_domain
from states.dates import long_date
from states.errors import MobilityError
from states.lifecycle.loading import WITH_PEOPLE
from states.tokens import TokenMinter

TEMPLATE_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("sv", "en")

KINDS = frozenset(
    {
        "approval_request",
        "decision_notice",
        "changes_requested",
        "agreement_request",
        "placement_confirmed",
        "evaluation_request",
        "completion_notice",
        "withdrawn_notice",
        "cancelled_notice",
        "approval_reminder",
        "agreement_reminder",
        "evaluation_reminder",
        "placement_starts",
        "checkin_request",
        "escalation_digest",
    }
)

# Who must decide sees the whole proposal, and so does who evaluates it against the goals that
# were set; everyone else sees who, where and when.
FULL_SUMMARY_KINDS = frozenset(
    {
        "approval_request",
        "approval_reminder",
        "agreement_request",
        "agreement_reminder",
        "evaluation_request",
        "evaluation_reminder",
    }
)

ROLE_WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "participant": "deltagare",
        "home_manager": "chef i hemorganisationen",
        "host_contact": "kontaktperson hos värden",
        "coordinator": "koordinator",
    },
    "en": {
        "participant": "participant",
        "home_manager": "manager at the home organisation",
        "host_contact": "host contact",
        "coordinator": "coordinator",
    },
}

# The same roles in the definite form, for "declined by the manager".
ACTOR_WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "participant": "deltagaren",
        "home_manager": "chefen i hemorganisationen",
        "host_contact": "kontaktpersonen hos värden",
        "coordinator": "koordinatorn",
    },
    "en": {
        "participant": "participant",
        "home_manager": "manager at the home organisation",
        "host_contact": "host contact",
        "coordinator": "coordinator",
    },
}

STATE_WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "proposal": "förslag",
        "manager_approval": "väntar på godkännande",
        "agreement": "väntar på avtal",
        "placement": "pågår",
        "evaluation": "utvärdering",
        "completed": "avslutad",
        "declined": "avslagen",
        "withdrawn": "återkallad",
        "cancelled": "avbruten",
    },
    "en": {
        "proposal": "proposal",
        "manager_approval": "waiting for approval",
        "agreement": "waiting for the agreement",
        "placement": "running",
        "evaluation": "in evaluation",
        "completed": "completed",
        "declined": "declined",
        "withdrawn": "withdrawn",
        "cancelled": "cancelled",
    },
}


class RenderError(MobilityError):
    """The row cannot become an email (unknown kind, missing data); delivery dead-letters it."""


def clean(value: object, *, limit: int = 200) -> str:
    """One line of text (``models.text.single_line``: no control, bidi or other format
    characters), whatever the row holds, cut at ``limit``."""
    return single_line(str(value or ""))[:limit]


def _safe_address(name: str, email: str) -> Address:
    """The header's address: the domain in its ASCII form (a Unicode domain would be written
    as an encoded word, which no server reads as an address); a non-ASCII local part stays,
    and the message then goes out with SMTPUTF8 (see ``notifications.smtp``)."""
    username, _, domain = email.strip().rpartition("@")
    if not username or not domain or single_line(email) != email.strip():
        raise RenderError(f"not a usable email address: {email!r}")
    try:
        return Address(display_name=clean(name), username=username, domain=ascii_domain(domain))
    except (AddressError, ValueError, IndexError) as error:
        raise RenderError(f"not a usable email address: {email!r} ({error})") from None


def sender_address(mail_from: str) -> Address:
    name, email = parseaddr(mail_from)
    return _safe_address(name, email or "mobility@localhost")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates ship with the code; no stat() per message
    )
    return env


@dataclass(frozen=True)
class RenderedParts:
    subject: str
    text: str
    html: str


def render_parts(kind: str, language: str, context: Mapping[str, Any]) -> RenderedParts:
    """Subject, text and HTML of ``kind`` in ``language`` (templates are per kind and language)."""
    if kind not in KINDS:
        raise RenderError(f"no email template for kind {kind!r}")
    language = language if language in LANGUAGES else "sv"
    env = environment()
    try:
        text_template = env.get_template(f"{kind}.{language}.txt")
        html_template = env.get_template(f"{kind}.{language}.html")
        subject_block = text_template.blocks["subject"]
        subject = clean("".join(subject_block(text_template.new_context(dict(context)))), limit=250)
        full = {**context, "subject": subject}
        text = text_template.render(full)
        html = html_template.render(full)
    except jinja2.TemplateNotFound as missing:
        raise RenderError(f"missing email template {missing.name}") from None
    except jinja2.UndefinedError as error:
        raise RenderError(f"{kind}: {error}") from None
    return RenderedParts(subject=subject, text=_tidy(text), html=html)


def _tidy(text: str) -> str:
    """Collapse the blank lines that template tags leave behind."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --- what a template sees -------------------------------------------------------------------


def _batch_cache(session: Session) -> dict[tuple[str, int], Any]:
    """Per-session memo: a delivery batch renders many messages about the same placement.
    Render in a session that does not change the placement between messages (delivery reads
    in a read-only snapshot), or the memo would show the earlier state."""
    cache: dict[tuple[str, int], Any] = session.info.setdefault("notifications.render", {})
    return cache


def _load_placement(session: Session, placement_id: int) -> Placement:
    cache = _batch_cache(session)
    key = ("placement", placement_id)
    if key not in cache:
        cache[key] = _query_placement(session, placement_id)
    placement: Placement = cache[key]
    return placement


def _query_placement(session: Session, placement_id: int) -> Placement:
    placement = session.get(Placement, placement_id, options=WITH_PEOPLE)
    if placement is None:
        raise RenderError(f"placement {placement_id} no longer exists")
    return placement


def placement_view(placement: Placement, language: str) -> dict[str, Any]:
    """The facts a recipient needs to decide: who, where, when, how much, why, value."""
    return {
        "reference": placement.reference,
        "programme": clean(placement.programme.name, limit=300),
        "participant": clean(placement.participant.name),
        "home_organisation": clean(placement.home_organisation.name, limit=300),
        "host_organisation": clean(placement.host_organisation.name, limit=300),
        "home_manager": clean(placement.home_manager.name),
        "host_contact": clean(placement.host_contact.name),
        "start": long_date(placement.start_date, language),
        "end": long_date(placement.end_date, language),
        "extent": placement.extent_percent,
        "purpose": placement.purpose.strip(),
        "development_plan": (placement.development_plan or "").strip(),
        "value_for_home": placement.value_for_home.strip(),
        "value_for_host": placement.value_for_host.strip(),
        "student_involvement": (placement.student_involvement or "").strip(),
        "evaluation_due": (
            long_date(placement.evaluation_due_on, language)
            if placement.evaluation_due_on
            else None
        ),
        "state": STATE_WORDS[language].get(placement.state, placement.state),
    }


def _current_document(session: Session, placement: Placement) -> AgreementDocument | None:
    cache = _batch_cache(session)
    key = ("document", placement.id)
    if key not in cache:
        cache[key] = _query_current_document(session, placement)
    document: AgreementDocument | None = cache[key]
    return document


def _query_current_document(session: Session, placement: Placement) -> AgreementDocument | None:
    return session.scalars(
        select(AgreementDocument).where(
            AgreementDocument.placement_id == placement.id,
            AgreementDocument.version == placement.agreement_version,
        )
    ).one_or_none()


def _digest_cases(cases: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        since = case.get("waiting_since")
        rows.append(
            {
                "reference": clean(case.get("reference")),
                "programme": clean(case.get("programme"), limit=300),
                "state": STATE_WORDS[language].get(
                    str(case.get("state")), clean(case.get("state"))
                ),
                "step": clean(case.get("step")),
                "waiting_since": long_date(date.fromisoformat(since), language) if since else "",
                "business_days": int(case.get("business_days") or 0),
                "waiting_for": [
                    {
                        "name": clean(w.get("name")),
                        "role": ROLE_WORDS[language].get(str(w.get("role")), clean(w.get("role"))),
                        "email": clean(w.get("email"), limit=320),
                    }
                    for w in case.get("waiting_for", [])
                ],
            }
        )
    return rows


def template_context(
    session: Session,
    message: OutboxMessage,
    *,
    minter: TokenMinter,
    base_url: str,
    timezone: ZoneInfo,
) -> tuple[dict[str, Any], Placement | None, ActionToken | None]:
    language = message.language if message.language in LANGUAGES else "sv"
    stored = dict(message.context or {})
    roles = ROLE_WORDS[language]
    context: dict[str, Any] = {
        "lang": language,
        "kind": message.kind,
        "recipient_name": clean(message.to_name),
        "recipient_role": roles.get(str(stored.get("recipient_role")), ""),
        "actor_role": ACTOR_WORDS[language].get(str(stored.get("role")), ""),
        "comment": (stored.get("comment") or "").strip(),
        "to_state": stored.get("to_state") or "",
        "event": stored.get("event") or "",
        "number": int(stored.get("number") or 1),
        "full_summary": message.kind in FULL_SUMMARY_KINDS,
        "p": None,
        "coordinator": None,
        "agreement": None,
        "link": None,
        "link_expires": None,
        "cases": _digest_cases(stored.get("cases") or [], language),
    }
    placement = None
    if message.placement_id is not None:
        placement = _load_placement(session, message.placement_id)
        context["p"] = placement_view(placement, language)
        coordinator = placement.programme.coordinator
        context["coordinator"] = {"name": clean(coordinator.name), "email": coordinator.email}
        document = _current_document(session, placement)
        if document is not None:
            context["agreement"] = {
                "version": document.version,
                "sha256": document.sha256,
                "sha_short": document.sha256[:12],
            }
    token = None
    if message.token_id is not None:
        token = session.get(ActionToken, message.token_id)
        if token is None:
            raise RenderError(f"link token {message.token_id} no longer exists")
        try:
            raw = minter.raw_for(token)
        except ValueError as error:
            raise RenderError(str(error)) from None
        context["link"] = f"{base_url.rstrip('/')}/l/{raw}"
        context["link_expires"] = long_date(token.expires_at.astimezone(timezone).date(), language)
    return context, placement, token


def render_message(
    session: Session,
    message: OutboxMessage,
    *,
    minter: TokenMinter,
    base_url: str,
    mail_from: str,
    timezone: ZoneInfo,
) -> EmailMessage:
    """The email for ``message``: headers, text and HTML alternatives, attachments."""
    context, placement, _token = template_context(
        session, message, minter=minter, base_url=base_url, timezone=timezone
    )
    parts = render_parts(message.kind, context["lang"], context)

    email = EmailMessage()
    email["From"] = sender_address(mail_from)
    email["To"] = _safe_address(message.to_name, message.to_email)
    email["Subject"] = parts.subject
    email["Message-ID"] = clean(message.message_id, limit=200)
    email["Date"] = format_datetime(message.created_at.astimezone(timezone))
    # Tell autoresponders and mail robots not to answer an automatic message.
    email["Auto-Submitted"] = "auto-generated"
    if placement is not None:
        coordinator = placement.programme.coordinator
        email["Reply-To"] = _safe_address(coordinator.name, coordinator.email)
    email.set_content(parts.text, subtype="plain", charset="utf-8")
    email.add_alternative(parts.html, subtype="html", charset="utf-8")
    ATTACHMENTS.get(message.kind, _no_attachments)(
        session, email, placement, context, message, timezone
    )
    # Last: set_content and add_attachment move or drop Content-* headers set before them.
    email["Content-Language"] = context["lang"]
    return email


# --- attachments per kind -------------------------------------------------------------------


def _no_attachments(*_args: Any) -> None:
    return None


def _confirmed_attachments(
    session: Session,
    email: EmailMessage,
    placement: Placement | None,
    context: dict[str, Any],
    message: OutboxMessage,
    timezone: ZoneInfo,
) -> None:
    """The period as a calendar event, and the agreement every party accepted."""
    if placement is None:
        return
    language = context["lang"]
    p = context["p"]
    summary = {
        "sv": f"Placering {p['reference']}: {p['participant']} hos {p['host_organisation']}",
        "en": f"Placement {p['reference']}: {p['participant']} at {p['host_organisation']}",
    }[language]
    ics = placement_event(
        uid=f"{placement.reference.lower()}@{_domain(message.message_id)}",
        start=placement.start_date,
        end=placement.end_date,
        summary=summary,
        description=f"{p['programme']} · {p['extent']} %",
        location=p["host_organisation"],
        stamp=message.created_at,
    )
    # base64 keeps the bytes exact: iCalendar's CRLF, and the agreement as hashed.
    email.add_attachment(
        ics.encode("utf-8"),
        maintype="text",
        subtype="calendar",
        filename=f"{placement.reference}.ics",
        params={"charset": "utf-8", "method": "PUBLISH"},
    )
    document = session.scalars(
        select(AgreementDocument)
        .where(
            AgreementDocument.placement_id == placement.id, AgreementDocument.final_at.is_not(None)
        )
        .order_by(AgreementDocument.version.desc())
        .limit(1)
    ).one_or_none()
    if document is not None:
        email.add_attachment(
            document.content_html.encode("utf-8"),
            maintype="text",
            subtype="html",
            params={"charset": "utf-8"},
            filename=f"{placement.reference}-agreement-v{document.version}.html",
        )


def _domain(message_id: str) -> str:
    return message_id.strip("<>").rpartition("@")[2] or "mobility.localhost"


ATTACHMENTS = {"placement_confirmed": _confirmed_attachments}
