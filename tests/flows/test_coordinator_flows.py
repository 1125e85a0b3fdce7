"""The coordinator's deployments (issue 13, Done 3), run under the session's Prefect server:
each does its work as the coordinator named in "acting as", and each refusal ends the run
Failed with the reason in one line as its state message, with no traceback in the run's log
(read back from the Prefect API)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from flows.context import use_app
from states.bootstrap import App
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.queries import get_placement
from states.lifecycle.transitions import apply_event
from tests.conftest import EXAMPLES, propose_example
from tests.test_cli import _into_placement

pytestmark = pytest.mark.prefect

SARA = "sara.lind@univ.example"  # coordinates affilierad-kompetens-2027 (examples/)
JOHAN = "johan.ek@univ.example"  # coordinates paus-2027


async def _logs(flow_run_id: UUID) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    async with get_client() as client:
        for _ in range(100):  # the logs reach the server a moment after the run ends
            messages = [log.message for log in await client.read_logs(log_filter=log_filter)]
            if any(m.startswith("Finished in state") for m in messages):
                return messages
            await asyncio.sleep(0.1)
    return messages


def run(app: App, flow: Callable[..., Any], **parameters: Any) -> tuple[Any, list[str]]:
    """Run a flow in this process; its final state and the log the Prefect UI shows."""
    with use_app(app):
        state = asyncio.run(flow(**parameters, return_state=True))
    return state, asyncio.run(_logs(state.state_details.flow_run_id))


def succeeds(app: App, flow: Callable[..., Any], **parameters: Any) -> Any:
    state, logs = run(app, flow, **parameters)
    assert state.is_completed(), (state.message, logs)
    return asyncio.run(state.aresult())


def refused(app: App, flow: Callable[..., Any], **parameters: Any) -> str:
    """The run is Failed; its message is one line and its log holds no traceback."""
    state, logs = run(app, flow, **parameters)
    assert state.is_failed()
    assert not [line for line in logs if "Traceback" in line], logs
    message = str(state.message)
    assert "\n" not in message
    assert f"Refused: {message}" in logs
    return message


def last_actor(app: App, reference: str) -> tuple[str, str]:
    history = get_placement(app.reading(), reference=reference).history[-1]
    return history.actor, history.via


PROPOSAL_FORM: dict[str, Any] = {
    "programme": "affilierad-kompetens-2027",
    "participant_name": "Daniel Åberg",
    "participant_email": "daniel.aberg@verktyg.example",
    "participant_language": "sv",
    "home_organisation": "Verktyg & Precision AB",
    "home_manager_name": "Eva Holm",
    "home_manager_email": "eva.holm@verktyg.example",
    "host_organisation": "Institutionen för maskinteknik",
    "host_contact_name": "Jan Berg",
    "host_contact_email": "jan.berg@univ.example",
    "start": "2027-02-01",
    "end": "2027-07-30",
    "extent_percent": 20,
    "purpose": "Industrial experience in the course on manufacturing.",
    "value_for_home": "New methods for tool-life prediction.",
    "value_for_host": "Real production data for teaching.",
}


def test_propose_from_the_form_as_its_coordinator(prefect_server: str, examples: App) -> None:
    from flows.placements import propose_placement

    made = succeeds(
        examples, propose_placement, proposal=PROPOSAL_FORM, acting_as="Sara.Lind@UNIV.example"
    )
    assert made["state"] == "manager_approval" and made["created"]
    assert last_actor(examples, made["reference"]) == (SARA, "flow")
    detail = get_placement(examples.reading(), reference=made["reference"])
    assert detail.host_contact.language is None  # "as the programme"
    wrong = refused(examples, propose_placement, proposal=PROPOSAL_FORM, acting_as=JOHAN)
    assert wrong == (
        "johan.ek@univ.example does not coordinate affilierad-kompetens-2027; its coordinator "
        "is Sara Lind <sara.lind@univ.example>"
    )
    backwards = {**PROPOSAL_FORM, "end": "2027-01-01"}
    assert refused(examples, propose_placement, proposal=backwards, acting_as=SARA) == (
        "propose-placement: 1 error, nothing was created; "
        "row 1, end: must be after the start date 2027-02-01"
    )


def test_an_unknown_programme_is_refused_with_the_known_ones(
    prefect_server: str, examples: App
) -> None:
    from flows.placements import propose_placement
    from flows.report import programme_report

    known = "the programmes are: affilierad-kompetens-2027, paus-2027"
    unknown = {**PROPOSAL_FORM, "programme": "paus-2028"}
    assert refused(examples, propose_placement, proposal=unknown, acting_as=SARA).endswith(known)
    assert refused(examples, programme_report, programme="paus-2028") == (
        f"no programme 'paus-2028'; {known}"
    )


def test_register_a_file_on_the_worker_or_pasted_csv(prefect_server: str, examples: App) -> None:
    from flows.coordinator import register_proposals

    folder = examples.settings.proposal_files_path
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLES / "proposals.csv", folder / "autumn.csv")
    path = "autumn.csv"
    made = succeeds(examples, register_proposals, path=path, acting_as=JOHAN)
    assert [r["state"] for r in made["registered"]] == ["manager_approval"] * 2
    assert last_actor(examples, made["registered"][0]["reference"]) == (JOHAN, "flow")
    again = succeeds(
        examples,
        register_proposals,
        pasted_csv=(EXAMPLES / "proposals.csv").read_text(encoding="utf-8"),
        acting_as=JOHAN,
    )
    assert [r["created"] for r in again["registered"]] == [False, False]
    assert refused(examples, register_proposals, path=path, acting_as=SARA).startswith(
        "sara.lind@univ.example does not coordinate paus-2027"
    )
    header, first, *_ = (EXAMPLES / "proposals.csv").read_text(encoding="utf-8").splitlines()
    broken = first.replace("2027-03-01", "2027-13-01")
    message = refused(
        examples, register_proposals, pasted_csv=f"{header}\n{broken}\n", acting_as=JOHAN
    )
    assert message.startswith("pasted CSV: 1 error, nothing was created; row 1, start: ")
    assert refused(examples, register_proposals, acting_as=JOHAN) == (
        "register-proposals: 1 error, nothing was created; "
        "file: give either a file's name on the worker or pasted CSV"
    )
    for outside in (str(EXAMPLES / "proposals.csv"), "../mobility.db", "/etc/passwd"):
        assert refused(examples, register_proposals, path=outside, acting_as=JOHAN) == (
            "register-proposals: 1 error, nothing was created; "
            f"file: the file must be in {folder.resolve()} (MOBILITY_PROPOSAL_FILES_DIR)"
        )


def test_submit_a_draft(prefect_server: str, examples: App) -> None:
    from flows.coordinator import submit_draft

    reference = propose_example(examples, draft=True)
    done = succeeds(examples, submit_draft, reference=reference, acting_as=SARA)
    assert done["state"] == "manager_approval"
    assert last_actor(examples, reference) == (SARA, "flow")
    assert "manager approval" in refused(
        examples, submit_draft, reference=reference, acting_as=SARA
    )


def test_resend_links_and_send_a_reminder(prefect_server: str, examples: App) -> None:
    from flows.coordinator import resend_links, send_reminder

    reference = propose_example(examples, as_of=datetime.now(UTC))
    resent = succeeds(examples, resend_links, reference=reference, acting_as=SARA)
    assert sorted(resent["sent_to"]) == ["Eva Holm (home_manager)", "Jan Berg (host_contact)"]
    reminded = succeeds(examples, send_reminder, reference=reference, acting_as=SARA)
    assert sorted(reminded["reminded"]) == sorted(resent["sent_to"])
    apply_event(
        examples.uow(), reference=reference, event="withdraw", actor=SARA, via="cli", comment="x"
    )
    assert refused(examples, resend_links, reference=reference, acting_as=SARA) == (
        f"{reference} is withdrawn; nobody has a link to act on"
    )
    assert refused(examples, send_reminder, reference=reference, acting_as=SARA) == (
        f"{reference} is withdrawn; nobody has a step to be reminded of"
    )
    assert refused(examples, send_reminder, reference="PL-2027-9999", acting_as=SARA) == (
        "no placement 'PL-2027-9999'"
    )


def test_withdraw_and_cancel(prefect_server: str, examples: App) -> None:
    from flows.coordinator import cancel_placement
    from flows.placements import withdraw_placement

    reference = propose_example(examples)
    _into_placement(examples, reference)
    early = refused(
        examples,
        cancel_placement,
        reference=reference,
        reason="ill",
        acting_as=SARA,
        as_of="2027-01-15T10:00",
    )
    assert (
        early
        == f"{reference} has not started yet (2027-02-01); withdraw it instead of cancelling it"
    )
    gone = succeeds(
        examples,
        cancel_placement,
        reference=reference,
        reason="ill",
        acting_as=SARA,
        as_of="2027-02-02T10:00",
    )
    assert gone["state"] == "cancelled"
    assert last_actor(examples, reference) == (SARA, "flow")
    (other,) = register_proposals(
        examples.uow(),
        proposals=load_proposals(EXAMPLES / "proposals.csv")[:1],
        actor=JOHAN,
        via="cli",
    )
    withdrawn = succeeds(
        examples, withdraw_placement, reference=other.reference, reason="no budget", acting_as=JOHAN
    )
    assert withdrawn["state"] == "withdrawn"
    assert "withdrawn" in refused(
        examples, withdraw_placement, reference=other.reference, reason="again", acting_as=JOHAN
    )


def test_amend_the_terms(prefect_server: str, examples: App) -> None:
    from flows.coordinator import amend_placement

    reference = propose_example(examples, draft=True)
    revised = succeeds(
        examples, amend_placement, reference=reference, acting_as=SARA, extent_percent=50
    )
    assert revised["state"] == "proposal"
    detail = get_placement(examples.reading(), reference=reference)
    assert (detail.extent_percent, detail.history[-1].actor) == (50, SARA)
    assert refused(examples, amend_placement, reference=reference, acting_as=SARA) == (
        "input: name at least one term to change"
    )


def test_the_command_line_reads_a_refused_run_as_its_one_line(
    prefect_server: str, examples: App
) -> None:
    """`mobility run report` runs the flow when a server is configured: its refusal is a
    MobilityError again (one line, exit 1), not Prefect's FailedRun."""
    from flows.refusals import refusal_as_error
    from flows.report import programme_report
    from states.errors import MobilityError

    with use_app(examples), pytest.raises(MobilityError) as refused_run:
        refusal_as_error(programme_report(programme="paus-2028"))
    assert str(refused_run.value).startswith("no programme 'paus-2028'; the programmes are: ")
