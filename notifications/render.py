"""Render an outbox row into an email at delivery time, from the database and the row's context.

Rows are rendered when they are first sent, not when they are queued, with a placeholder
where the link's token goes; the sender splices the token in, and a row that must be retried
keeps the rendered bytes, so a retry renders nothing and resends the same message
(``notifications.prerendered``). The raw link token never touches the database.
Headers are built only from ``Address`` objects and sanitised strings, so a name holding
CR/LF or markup can neither add a header nor break the message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTPUTF8
from email.policy import default as default_policy
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, Unpack, overload
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session

from models import ActionToken, OutboxMessage
from notifications.attachments import ATTACHMENTS
from notifications.context import forget_batch, preload, template_context
from notifications.headers import RenderError, clean, safe_address, sender_address
from notifications.mime import Mail, wire_bytes
from notifications.outcomes import Claimed, Outcomes, Prepared
from notifications.prerendered import PROCESS_PLACEHOLDER, PreRendered
from states.errors import MobilityError
from states.glossary import LANGUAGES
from states.links.status import LinkStatus, link_statuses
from states.tokens import TokenMinter

if TYPE_CHECKING:
    from config import Settings
    from states.unit_of_work import ServiceConfig, UnitOfWork


log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"

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
        "placement_welcome",
        "co_approver_declined",
        "checkin_request",
        "escalation_digest",
    }
)

# Who must decide sees the whole proposal, and so does who evaluates it against the goals that


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


def compose(
    session: Session,
    message: OutboxMessage,
    *,
    minter: TokenMinter,
    base_url: str,
    mail_from: str,
    timezone: ZoneInfo,
    link_token: str | None = None,
) -> Mail:
    """The email for ``message``: headers, text and HTML alternatives, attachments. The link
    carries ``link_token`` instead of the raw token when given (a placeholder)."""
    context, placement, _token = template_context(
        session, message, minter=minter, base_url=base_url, timezone=timezone, link_token=link_token
    )
    parts = render_parts(message.kind, context["lang"], context)
    reply_to = None
    if placement is not None:
        coordinator = placement.programme.coordinator
        reply_to = safe_address(coordinator.name, coordinator.email)
    attach = ATTACHMENTS.get(message.kind)
    return Mail(
        sender=sender_address(mail_from),
        to=safe_address(message.to_name, message.to_email),
        subject=parts.subject,
        message_id=clean(message.message_id, limit=200),
        date=format_datetime(message.created_at.astimezone(timezone)),
        language=context["lang"],
        text=parts.text,
        html=parts.html,
        reply_to=reply_to,
        attachments=attach(session, placement, context, message) if attach is not None else (),
    )


class RenderOptions(TypedDict):
    """What rendering needs besides the row (``compose``'s keyword arguments)."""

    minter: TokenMinter
    base_url: str
    mail_from: str
    timezone: ZoneInfo
    link_token: NotRequired[str | None]


@overload
def render_message(
    session: Session,
    message: OutboxMessage,
    *,
    wire: Literal[False] = False,
    **options: Unpack[RenderOptions],
) -> EmailMessage: ...
@overload
def render_message(
    session: Session,
    message: OutboxMessage,
    *,
    wire: Literal[True],
    **options: Unpack[RenderOptions],
) -> Mail: ...
def render_message(
    session: Session,
    message: OutboxMessage,
    *,
    wire: bool = False,
    **options: Unpack[RenderOptions],
) -> EmailMessage | Mail:
    """The one way a row becomes an email, for delivery (``wire``: what goes on the wire,
    ``notifications.mime``) and for whoever reads it: the message a mail client parses from
    those same bytes, stored with its line ends as a client stores them."""
    mail = compose(session, message, **options)
    if wire:
        return mail
    data = wire_bytes(mail).replace(b"\r\n", b"\n")
    parsed = BytesParser(policy=SMTPUTF8 if mail.smtputf8 else default_policy).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- rendering claimed rows for delivery ---------------------------------------------------


class Renderer:
    """Renders claimed rows just before they are sent (so nothing is rendered while the relay
    is unreachable), or splices the link into the message kept from an earlier attempt; a row
    whose link died is cancelled, one that cannot be rendered is dead."""

    def __init__(
        self,
        reader: UnitOfWork,
        *,
        settings: Settings,
        config: ServiceConfig,
        now: datetime,
        outcomes: Outcomes,
    ) -> None:
        self.reader = reader
        self.session = reader.session
        self.settings = settings
        self.config = config
        self.now = now
        self.outcomes = outcomes
        self.sender = sender_address(settings.mail_from).addr_spec
        self.rows: dict[int, OutboxMessage] = {}
        self.links: Mapping[int, LinkStatus] = {}
        self.tokens: dict[int, ActionToken] = {}
        """Held here: the session keeps what it loaded only while someone refers to it."""

    def load(self, ids: Sequence[int]) -> list[Claimed]:
        """The claimed rows, whether each link is still live (one check for the batch), and
        what the rows to render need (the placements and documents in two queries)."""
        rows = self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
        ).all()
        self.rows.update((row.id, row) for row in rows)
        tokens = sorted({row.token_id for row in rows if row.token_id is not None})
        if tokens:
            self.tokens = {
                token.id: token
                for token in self.session.scalars(
                    select(ActionToken).where(ActionToken.id.in_(tokens))
                )
            }
            self.links = link_statuses(self.session, tokens, now=self.now)
        preload(self.session, [row for row in rows if row.rendered is None])
        return [Claimed(row.id, row.attempts, row.created_at) for row in rows]

    def prepare(self, claimed: Claimed) -> Prepared | None:
        """The row ready for the wire, or None with its outcome recorded: cancelled (its link
        died), dead (it cannot become an email) or retried (anything unforeseen)."""
        try:
            return self._prepare_reconnecting(self.rows[claimed.id])
        except MobilityError as error:
            self.outcomes.dead(claimed.id, claimed.attempts, f"cannot render: {error}")
        except Exception as error:  # one bad row must not stop the batch
            self.outcomes.unexpected(claimed, "rendering", error)
        return None

    def _prepare_reconnecting(self, row: OutboxMessage) -> Prepared | None:
        """A connection the database dropped mid-batch (a restart, ``pg_terminate_backend``)
        is replaced once — the rollback hands the session a new one from the pool — instead
        of failing every row left in the batch."""
        try:
            return self._prepare(row)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        except PendingRollbackError:
            pass
        log.warning("outbox %s: the database connection was lost; reading again", row.id)
        self.reader.rollback()
        forget_batch(self.session)
        return self._prepare(row)

    def _prepare(self, row: OutboxMessage) -> Prepared | None:
        raw = None
        if row.token_id is not None:
            status = self.links.get(row.token_id)
            reason = status.reason if status is not None else "token missing"
            if reason is not None:
                self.outcomes.cancelled(row.id, f"link no longer live: {reason}")
                return None
            raw = self._raw_token(row.token_id)
        message = (
            PreRendered.from_blob(row.rendered)
            if row.rendered is not None
            else self._render(row, raw)
        )
        return Prepared(
            id=row.id,
            attempts=row.attempts,
            created_at=row.created_at,
            sender=self.sender,
            recipient=message.recipient,
            data=message.splice(raw),
            subject=message.subject,
            smtputf8=message.smtputf8,
            rendered=message.to_blob(),
        )

    def _raw_token(self, token_id: int) -> str:
        token = self.tokens.get(token_id) or self.session.get(ActionToken, token_id)
        if token is None:
            raise RenderError(f"link token {token_id} no longer exists")
        try:
            return self.config.minter.raw_for(token)
        except ValueError as error:
            raise RenderError(str(error)) from None

    def _render(self, row: OutboxMessage, raw: str | None) -> PreRendered:
        """The message with a placeholder for the link's token, to keep for a retry: its
        text parts travel as 7bit or quoted-printable (``notifications.mime``), where the
        placeholder can always be found and spliced."""
        placeholder = PROCESS_PLACEHOLDER if raw is not None else ""
        mail = render_message(
            self.session,
            row,
            minter=self.config.minter,
            base_url=self.settings.base_url,
            mail_from=self.settings.mail_from,
            timezone=self.config.timezone,
            link_token=placeholder or None,
            wire=True,
        )
        return _flatten(mail, placeholder)


def _flatten(mail: Mail, placeholder: str) -> PreRendered:
    return PreRendered(
        # UTF-8 headers (RFC 6532) only when an address needs them; else plain ASCII.
        data=wire_bytes(mail),
        placeholder=placeholder,
        # The envelope says what the header says: the domain in its ASCII form.
        recipient=mail.to.addr_spec,
        subject=mail.subject,
        smtputf8=mail.smtputf8,
    )
