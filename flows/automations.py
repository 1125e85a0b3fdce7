"""The Prefect automations shipped with the product, created idempotently (``mobility prefect
setup``, and ``mobility up`` at every start) on whichever server ``PREFECT_API_URL`` names.

- a ``sweep`` or ``deliver-notifications`` run that failed or crashed → ops are emailed;
- an email given up (``mobility.email.dead``, one event per message) → ops are emailed.

The action sends through the ``Mobility ops email`` block (``notifications/ops_alert.py``),
saved under one name from the settings (``MOBILITY_OPS_EMAIL`` over the product's SMTP
settings), so changing a setting and running setup again changes where alerts go. Each
automation is found by its name: created if missing, updated if present, extra copies removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from config import Settings

BLOCK_NAME = "mobility-ops"
WATCHED_FLOWS = ("sweep", "deliver-notifications")

RUN_FAILED = "Mobility: a sweep or delivery run failed"
EMAIL_DEAD = "Mobility: an email was given up"

RUN_FAILED_SUBJECT = "Mobility Engine: {{ flow.name }} {{ flow_run.state.name | lower }}"
RUN_FAILED_BODY = """The {{ flow.name }} run {{ flow_run.name }}: {{ flow_run.state.name }}.

{{ flow_run.state.message }}

{{ flow_run | ui_url }}
"""
EMAIL_DEAD_SUBJECT = "Mobility Engine: an email was given up ({{ event.payload.reference }})"
EMAIL_DEAD_BODY = """Email {{ event.payload.id }} ({{ event.payload.kind }}) for \
{{ event.payload.reference }} was given up after {{ event.payload.attempts }} attempt(s):

{{ event.payload.reason }}

See `mobility outbox --state dead`; `mobility outbox retry {{ event.payload.id }}` sends it again.
"""


@dataclass(frozen=True)
class SetupReport:
    created: list[str]
    updated: list[str]
    removed_duplicates: int
    block: str | None
    """The notification block's name, or None without MOBILITY_OPS_EMAIL."""


def ops_block(settings: Settings) -> Any:
    """The ops email block as the settings describe it (the catcher when no SMTP host)."""
    from notifications.ops_alert import MobilityOpsEmail
    from notifications.smtp import SmtpTarget

    target = SmtpTarget.from_settings(settings)
    return MobilityOpsEmail(
        to=[a.strip() for a in settings.ops_email.split(",") if a.strip()],
        mail_from=settings.mail_from,
        smtp_host=target.host,
        smtp_port=target.port,
        starttls=target.starttls,
        username=target.username or "",
        password=SecretStr(target.password or ""),
    )


def wanted(block_id: UUID | None) -> list[Any]:
    """The automations, as Prefect's client models (no action without a block)."""
    from prefect.events.actions import DoNothing, SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    def notify(subject: str, body: str) -> list[Any]:
        if block_id is None:  # visible in the UI, alerting nobody until MOBILITY_OPS_EMAIL
            return [DoNothing()]
        return [SendNotification(block_document_id=block_id, subject=subject, body=body)]

    run_failed = EventTrigger(
        expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={
            "prefect.resource.role": "flow",
            "prefect.resource.name": list(WATCHED_FLOWS),
        },
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )
    email_dead = EventTrigger(
        expect={"mobility.email.dead"},
        match={"prefect.resource.id": "mobility.email.*"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )
    return [
        AutomationCore(
            name=RUN_FAILED,
            description="Ops are emailed when a sweep or a delivery run fails or crashes.",
            trigger=run_failed,
            actions=notify(RUN_FAILED_SUBJECT, RUN_FAILED_BODY),
        ),
        AutomationCore(
            name=EMAIL_DEAD,
            description="Ops are emailed for each email the delivery gave up on.",
            trigger=email_dead,
            actions=notify(EMAIL_DEAD_SUBJECT, EMAIL_DEAD_BODY),
        ),
    ]


async def _save_block(settings: Settings) -> UUID | None:
    if not settings.ops_email.strip():
        return None
    block = ops_block(settings)
    return UUID(str(await block.save(BLOCK_NAME, overwrite=True)))


async def set_up(settings: Settings) -> SetupReport:
    """Create or update the block and the automations; safe to run any number of times."""
    from prefect.client.orchestration import get_client

    block_id = await _save_block(settings)
    created: list[str] = []
    updated: list[str] = []
    removed = 0
    async with get_client() as client:
        for automation in wanted(block_id):
            found = await client.read_automations_by_name(automation.name)
            if not found:
                await client.create_automation(automation)
                created.append(automation.name)
                continue
            keep, *extra = sorted(found, key=lambda a: str(a.id))
            await client.update_automation(keep.id, automation)
            updated.append(automation.name)
            for duplicate in extra:
                await client.delete_automation(duplicate.id)
                removed += 1
    return SetupReport(
        created=created,
        updated=updated,
        removed_duplicates=removed,
        block=BLOCK_NAME if block_id else None,
    )
