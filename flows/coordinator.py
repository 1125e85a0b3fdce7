"""The coordinator's deployments beyond a single proposal: a whole proposals file, fresh links,
a reminder now, a draft submitted, a placement cancelled, terms amended.

Each is a thin flow over the service the CLI uses, with a run form (``flows.forms``); each
records the coordinator named in "acting as" (``flows.context``) and ends Failed with the
reason in one line when the service refuses (``flows.refusals``).
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger

from flows.context import Coordinators, aware, current_app, placement_actor
from flows.events import publish_events
from flows.forms import acting_as_field, ask, moment_field, reason_field, reference_field
from flows.refusals import refusals_fail
from models.schemas import normalised_email
from states.errors import FieldError, InvalidInput
from states.intake.input_files import ProposalBatch, ProposalFile

VIA = "flow"
R = TypeVar("R")
ACT_AS_OF = moment_field("Act as of this moment, as the command line's --as-of.")


async def on_placement(
    service: Callable[..., R], *, reference: str, acting_as: str, **arguments: Any
) -> R:
    """Call a placement's service as the coordinator named in the form (refused if they do
    not coordinate its programme)."""
    app = current_app()
    reference = reference.strip()
    actor = await asyncio.to_thread(placement_actor, app, reference=reference, acting_as=acting_as)
    call = functools.partial(service, app.uow(), reference=reference, actor=actor, **arguments)
    return await asyncio.to_thread(call)


async def apply_as_coordinator(
    *,
    reference: str,
    event: str,
    acting_as: str,
    comment: str | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """One event on one placement by the coordinator named in the form."""
    from states.lifecycle.transitions import apply_event

    app = current_app()
    result = await on_placement(
        apply_event,
        reference=reference,
        acting_as=acting_as,
        event=event,
        via=VIA,
        comment=comment,
        as_of=aware(as_of, app),
    )
    get_run_logger().info("%s: %s → %s", result.reference, result.from_state, result.to_state)
    await publish_events(app)
    return {"reference": result.reference, "state": result.to_state, "version": result.version}


@flow(name="submit-draft", log_prints=False)
@refusals_fail
async def submit_draft(
    reference: str = reference_field(),
    acting_as: str = acting_as_field(),
    as_of: datetime | None = ACT_AS_OF,
) -> dict[str, Any]:
    """Submit a draft (or a revised) proposal: its managers are asked for approval."""
    return await apply_as_coordinator(
        reference=reference, event="submit", acting_as=acting_as, as_of=as_of
    )


@flow(name="cancel-placement", log_prints=False)
@refusals_fail
async def cancel_placement(
    reference: str = reference_field(),
    reason: str = reason_field("cancelled"),
    acting_as: str = acting_as_field(),
    as_of: datetime | None = ACT_AS_OF,
) -> dict[str, Any]:
    """Cancel a placement that has started; everyone involved is told why."""
    return await apply_as_coordinator(
        reference=reference, event="cancel", acting_as=acting_as, comment=reason, as_of=as_of
    )


@flow(name="resend-links", log_prints=False)
@refusals_fail
async def resend_links(
    reference: str = reference_field(), acting_as: str = acting_as_field()
) -> dict[str, Any]:
    """Fresh links by email to whoever still has to act in the current step; their earlier
    links for that step stop working."""
    from states.links.resend import resend_links as resend

    sent = await on_placement(
        resend, reference=reference, acting_as=acting_as, now=datetime.now(UTC)
    )
    get_run_logger().info("%s: links resent to %s", reference, ", ".join(_who(sent)))
    return {"reference": reference, "sent_to": _who(sent)}


@flow(name="send-reminder", log_prints=False)
@refusals_fail
async def send_reminder(
    reference: str = reference_field(), acting_as: str = acting_as_field()
) -> dict[str, Any]:
    """A reminder by email, now, to each person who still has to act in the current step (their
    live link is reused); counted with the sweep's reminders."""
    from states.links.remind import remind_now

    reminded = await on_placement(
        remind_now, reference=reference, acting_as=acting_as, via=VIA, now=datetime.now(UTC)
    )
    get_run_logger().info("%s: reminded %s", reference, ", ".join(_who(reminded)))
    return {"reference": reference, "reminded": _who(reminded)}


def _who(people: Iterable[Any]) -> list[str]:
    return [f"{p.person_name} ({p.role})" for p in people]


KEEP = "Leave empty to keep it."


@flow(name="amend-placement", log_prints=False)
@refusals_fail
async def amend_placement(
    reference: str = reference_field(),
    acting_as: str = acting_as_field(),
    start: date | None = ask("First day", f"The new first day (ISO date). {KEEP}", None),
    end: date | None = ask("Last day", f"The new last day (ISO date). {KEEP}", None),
    extent_percent: int | None = ask("Extent (%)", f"% of working time, 1–100. {KEEP}", None),
    funding_sek: int | None = ask("Funding (SEK)", f"In kronor. {KEEP}", None),
    purpose: str = ask("Purpose", f"The new purpose. {KEEP}", ""),
    development_plan: str = ask("Development plan", f"The new plan. {KEEP}", ""),
    value_for_home: str = ask("Value for the home organisation", KEEP, ""),
    value_for_host: str = ask("Value for the host organisation", KEEP, ""),
    student_involvement: str = ask("Student involvement", KEEP, ""),
) -> dict[str, Any]:
    """Change a placement's terms: in a proposal a revision; while the agreement waits for
    acceptance an amendment (a new version, every party asked again)."""
    from states.lifecycle.amendments import TermsChange, amend_terms

    given = {
        "start": start,
        "end": end,
        "extent_percent": extent_percent,
        "funding_sek": funding_sek,
        "purpose": purpose,
        "development_plan": development_plan,
        "value_for_home": value_for_home,
        "value_for_host": value_for_host,
        "student_involvement": student_involvement,
    }
    changes = TermsChange.model_validate({k: v for k, v in given.items() if v not in (None, "")})
    result = await on_placement(
        amend_terms,
        reference=reference,
        acting_as=acting_as,
        changes=changes,
        via=VIA,
        as_of=datetime.now(UTC),
    )
    get_run_logger().info("%s %s (version %d)", result.reference, result.event, result.version)
    await publish_events(current_app())
    return {"reference": result.reference, "state": result.to_state, "version": result.version}


@flow(name="register-proposals", log_prints=False)
@refusals_fail
async def register_proposals(
    path: str = ask(
        "File on the worker",
        "The name of a proposals file in the proposal-files folder of the machine that runs "
        "this flow (MOBILITY_PROPOSAL_FILES_DIR): CSV (comma, semicolon or tab) or YAML, with "
        "the columns of examples/proposals.csv. Or leave it empty and paste the CSV below.",
        "",
    ),
    pasted_csv: str = ask(
        "Pasted CSV", "The proposals as CSV text, the header row first (instead of a file).", ""
    ),
    draft: bool = ask("As drafts", "Register without asking the managers yet.", False),
    acting_as: str = acting_as_field(),
) -> dict[str, Any]:
    """Register every proposal of a file, or none if any row is wrong (every error listed);
    unless drafts, each one's managers are asked for approval."""
    from states.intake.registration import register_proposal_batches

    app = current_app()
    with tempfile.TemporaryDirectory() as folder:
        proposals = _proposal_file(
            path, pasted_csv, allowed=app.settings.proposal_files_path, scratch=Path(folder)
        )
        coordinators = await asyncio.to_thread(Coordinators, app)
        registered = await asyncio.to_thread(
            register_proposal_batches,
            app.uow(),
            batches=_coordinated(proposals.batches(), coordinators, acting_as),
            actor=normalised_email(acting_as),
            via=VIA,
            draft=draft,
            source=proposals.source,
        )
    created = sum(r.created for r in registered)
    get_run_logger().info(
        "%s: %d registered, %d already there", proposals.source, created, len(registered) - created
    )
    await publish_events(app)
    return {
        "registered": [
            {"reference": r.reference, "state": r.state, "created": r.created} for r in registered
        ]
    }


def _proposal_file(path: str, pasted: str, *, allowed: Path, scratch: Path) -> ProposalFile:
    """The file named (inside ``allowed``: a run form names no other path), or the pasted text
    as a CSV file in ``scratch``; either is read by the intake's reader."""
    if bool(path.strip()) == bool(pasted.strip()):
        raise _refused("give either a file's name on the worker or pasted CSV")
    if path.strip():
        folder = allowed.resolve()
        named = (folder / path.strip()).resolve()
        if not named.is_relative_to(folder):
            raise _refused(f"the file must be in {folder} (MOBILITY_PROPOSAL_FILES_DIR)")
        return ProposalFile(named)
    pasted_file = scratch / "pasted.csv"
    pasted_file.write_text(pasted, encoding="utf-8")
    proposals = ProposalFile(pasted_file)
    proposals.source = "pasted CSV"
    return proposals


def _refused(message: str) -> InvalidInput:
    return InvalidInput([FieldError(None, "file", message)], source="register-proposals")


def _coordinated(
    batches: Iterable[ProposalBatch], coordinators: Coordinators, acting_as: str
) -> Iterator[ProposalBatch]:
    """The batches, each refused whole unless ``acting_as`` coordinates every known programme
    in it (an unknown one is the registration's error, listed with the others)."""
    for batch in batches:
        for key in sorted({p.programme for _, p in batch.rows} & set(coordinators.programmes)):
            coordinators.actor(programme=key, acting_as=acting_as)
        yield batch
