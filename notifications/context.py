"""What a template sees: the facts of the placement, the link, the digest's cases, in the
recipient's language and with the glossary's words (``states.glossary``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from models import ActionToken, AgreementDocument, OutboxMessage, Placement
from notifications.headers import RenderError, clean
from states.calendar.batches import placements_with_people
from states.dates import long_date
from states.glossary import LANGUAGES, words
from states.lifecycle.loading import WITH_PEOPLE
from states.lifecycle.steps import BY_PURPOSE
from states.tokens import TokenMinter

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


def _batch_cache(session: Session) -> dict[tuple[str, int], Any]:
    """Per-session memo: a delivery batch renders many messages about the same placement.
    Render in a session that does not change the placement between messages (delivery reads
    in a read-only snapshot), or the memo would show the earlier state."""
    cache: dict[tuple[str, int], Any] = session.info.setdefault("notifications.render", {})
    return cache


def forget_batch(session: Session) -> None:
    """Drop the memo: after a rollback its rows are expired, their relationships unloaded
    (and ``lazy="raise"``), so every message rendered from them would fail."""
    session.info.pop("notifications.render", None)


def _load_placement(session: Session, placement_id: int) -> Placement:
    cache = _batch_cache(session)
    key = ("placement", placement_id)
    if key not in cache:
        cache[key] = _query_placement(session, placement_id)
    placement: Placement = cache[key]
    return placement


def preload(session: Session, messages: Sequence[OutboxMessage]) -> None:
    """Fill the memo for a batch: the placements with their people in one query, their current
    agreement documents in one more, instead of two queries per message."""
    cache = _batch_cache(session)
    wanted = {m.placement_id for m in messages if m.placement_id is not None}
    placements = placements_with_people(
        session, sorted(pid for pid in wanted if ("placement", pid) not in cache)
    )
    if not placements:
        return
    documents = {
        document.placement_id: document
        for document in session.scalars(
            select(AgreementDocument).where(
                tuple_(AgreementDocument.placement_id, AgreementDocument.version).in_(
                    [(p.id, p.agreement_version) for p in placements]
                )
            )
        )
    }
    for placement in placements:
        cache[("placement", placement.id)] = placement
        cache[("document", placement.id)] = documents.get(placement.id)


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
        "extent_text": words(language).term("extent", percent=placement.extent_percent),
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
        "state": words(language).state(placement.state),
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
    glossary = words(language)
    rows = []
    for case in cases:
        since = case.get("waiting_since")
        rows.append(
            {
                "reference": clean(case.get("reference")),
                "programme": clean(case.get("programme"), limit=300),
                "state": glossary.state(clean(case.get("state"))),
                "waiting_since": long_date(date.fromisoformat(since), language) if since else "",
                "business_days": int(case.get("business_days") or 0),
                "waiting_for": [
                    {
                        "name": clean(w.get("name")),
                        "role": glossary.role(clean(w.get("role"))),
                        "email": clean(w.get("email"), limit=320),
                    }
                    for w in case.get("waiting_for", [])
                ],
            }
        )
    return rows


def _known(table: Mapping[str, str], key: object) -> str:
    """The word for ``key``, or nothing if the glossary has none (a row from an older version)."""
    return table.get(str(key), "")


def _role_key(table: Mapping[str, str], key: object) -> str:
    """The recipient's role as a key the templates choose their text by ("" if unknown)."""
    return str(key) if str(key) in table else ""


def _placement_context(
    session: Session, placement: Placement, message: OutboxMessage, language: str
) -> dict[str, Any]:
    coordinator = placement.programme.coordinator
    who = {"name": clean(coordinator.name), "email": coordinator.email}
    document = _current_document(session, placement)
    return {
        "p": placement_view(placement, language),
        "coordinator": who,
        # Nobody is told to contact themselves: the coordinator's own emails name no contact.
        "contact": who if message.person_id != coordinator.id else None,
        "agreement": (
            {
                "version": document.version,
                "sha256": document.sha256,
                "sha_short": document.sha256[:12],
            }
            if document is not None
            else None
        ),
    }


def _link_context(
    token: ActionToken,
    raw: str | None,
    minter: TokenMinter,
    base_url: str,
    timezone: ZoneInfo,
    language: str,
) -> dict[str, Any]:
    """The link with the raw token, or with ``raw`` in its place (a placeholder the sender
    replaces with the token, ``notifications.prerendered``)."""
    if raw is None:
        try:
            raw = minter.raw_for(token)
        except ValueError as error:
            raise RenderError(str(error)) from None
    step = BY_PURPOSE.get(token.purpose)
    return {
        "link": f"{base_url.rstrip('/')}/l/{raw}",
        # The page behind it: a decision, the agreement, or answers (which need no button).
        "link_form": step.form if step is not None else None,
        "link_expires": long_date(token.expires_at.astimezone(timezone).date(), language),
    }


def template_context(
    session: Session,
    message: OutboxMessage,
    *,
    minter: TokenMinter,
    base_url: str,
    timezone: ZoneInfo,
    link_token: str | None = None,
) -> tuple[dict[str, Any], Placement | None, ActionToken | None]:
    language = message.language if message.language in LANGUAGES else "sv"
    stored = dict(message.context or {})
    glossary = words(language)
    context: dict[str, Any] = {
        "lang": language,
        "kind": message.kind,
        "recipient_name": clean(message.to_name),
        "recipient_role": _known(glossary.roles, stored.get("recipient_role")),
        "role": _role_key(glossary.roles, stored.get("recipient_role")),
        "actor_role": _known(glossary.roles_definite, stored.get("role")),
        "words": glossary,
        "comment": (stored.get("comment") or "").strip(),
        "to_state": stored.get("to_state") or "",
        "event": stored.get("event") or "",
        "number": int(stored.get("number") or 1),
        "full_summary": message.kind in FULL_SUMMARY_KINDS,
        "p": None,
        "coordinator": None,
        "contact": None,
        "agreement": None,
        "link": None,
        "link_form": None,
        "link_expires": None,
        "cases": _digest_cases(stored.get("cases") or [], language),
        "site": f"{base_url.rstrip('/')}/",  # the front page: the calendar event's URL
    }
    placement = None
    if message.placement_id is not None:
        placement = _load_placement(session, message.placement_id)
        context.update(_placement_context(session, placement, message, language))
    token = None
    if message.token_id is not None:
        token = session.get(ActionToken, message.token_id)
        if token is None:
            raise RenderError(f"link token {message.token_id} no longer exists")
        context.update(_link_context(token, link_token, minter, base_url, timezone, language))
    return context, placement, token
