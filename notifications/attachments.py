"""Attachments per kind of email: the placement as a calendar event and the agreement every
party accepted (as PDF/A, with the accepted HTML inside it) go with the confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AgreementDocument, OutboxMessage, Placement
from notifications.ics import placement_event
from notifications.mime import Attachment
from states.addresses import ascii_email

Attach = Callable[[Session, Placement | None, dict[str, Any], OutboxMessage], list[Attachment]]
"""A kind's attachments to the message."""


def _confirmed_attachments(
    session: Session,
    placement: Placement | None,
    context: dict[str, Any],
    message: OutboxMessage,
) -> list[Attachment]:
    """The period as a calendar event, and the agreement every party accepted."""
    if placement is None:
        return []
    # base64 keeps the bytes exact: iCalendar's CRLF.
    attachments = [
        Attachment(
            _calendar_event(placement, context, message).encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename=f"{placement.reference}.ics",
            params=(("charset", "utf-8"), ("method", "PUBLISH")),
        )
    ]
    document = session.scalars(
        select(AgreementDocument)
        .where(
            AgreementDocument.placement_id == placement.id, AgreementDocument.final_at.is_not(None)
        )
        .order_by(AgreementDocument.version.desc())
        .limit(1)
    ).one_or_none()
    if document is not None:
        from states.documents.pdf import agreement_pdf

        pdf = agreement_pdf(
            html=document.content_html,
            reference=placement.reference,
            version=document.version,
            language=document.language,
            created=document.created_at,
        )
        # PDF/A for the registry; the HTML the parties accepted travels inside it.
        attachments.append(
            Attachment(pdf.content, maintype="application", subtype="pdf", filename=pdf.filename)
        )
    return attachments


def _calendar_event(placement: Placement, context: dict[str, Any], message: OutboxMessage) -> str:
    """The placement's period as an iCalendar event in the recipient's language."""
    p = context["p"]
    summary = {
        "sv": f"Placering {p['reference']}: {p['participant']} hos {p['host_organisation']}",
        "en": f"Placement {p['reference']}: {p['participant']} at {p['host_organisation']}",
    }[context["lang"]]
    return placement_event(
        uid=f"{placement.reference.lower()}@{_domain(message.message_id)}",
        start=placement.start_date,
        end=placement.end_date,
        summary=summary,
        description=f"{p['programme']} · {p['extent']} %",
        location=p["host_organisation"],
        stamp=message.created_at,
        # Version 1 is the first; each amendment makes a new version, and a new sequence.
        sequence=placement.agreement_version - 1,
        organizer_name=context["coordinator"]["name"],
        organizer_email=ascii_email(context["coordinator"]["email"]),
        url=context["site"],
    )


def _domain(message_id: str) -> str:
    return message_id.strip("<>").rpartition("@")[2] or "mobility.localhost"


ATTACHMENTS: dict[str, Attach] = {"placement_confirmed": _confirmed_attachments}
