"""What an event records beyond the state: the actor's part in a step (a decision, an
acceptance, answers) and the step rows a state opens. Tables, not chains of ifs:
``PRECHECKS`` and ``ON_EVENT`` by event, ``ON_ENTER`` by the state entered."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache, partial
from typing import Any

from sqlalchemy import Connection, Table, Update, bindparam, insert, select, update

from models import (
    AgreementDocument,
    Person,
    Placement,
    table_of,
)
from states.business_days import add_business_days
from states.errors import AlreadyDecided, NotPermitted
from states.lifecycle.records import assign
from states.lifecycle.steps import AGREEMENT, APPROVAL, EVALUATION, MACHINE_DECISIONS, Step
from states.unit_of_work import UnitOfWork


@dataclass
class EventContext:
    """What an effect needs: the locked placement, the event's arguments, and the unit of
    work (its connection for the effects' statements)."""

    uow: UnitOfWork
    placement: Placement
    event: str
    role: str | None
    actor: str
    via: str
    comment: str | None
    answers: dict[str, Any] | None
    now: datetime
    as_of: datetime
    token_id: int | None
    new_steps: list[tuple[type[Any], str, dict[str, Any], Person]] = field(default_factory=list)
    """Step rows the event opens: (model, the placement's collection, columns, person)."""
    changes: dict[str, Any] = field(default_factory=dict)
    """The placement's columns the event changes; written by the compare-and-set UPDATE."""

    @cached_property
    def connection(self) -> Connection:
        """The transaction's connection, for the effects' Core statements: through the session
        each paid for its ORM execute path, which does nothing for a table's statement with
        autoflush off (as the effects always ran them)."""
        return self.uow.connection

    def change(self, **values: Any) -> None:
        """Change the placement's columns: the loaded object shows them at once (without
        becoming dirty: no second UPDATE at flush), the compare-and-set UPDATE writes them."""
        for key, value in values.items():
            assign(self.placement, key, value)
        self.changes.update(values)


# --- the actor's part in a step -------------------------------------------------------------


def _current_row(ctx: EventContext, step: Step) -> Any:
    """The row of ``step`` that asks the acting role, as the step stands."""
    placement = ctx.placement
    for row in step.current_rows(placement):
        if row.role == ctx.role:
            return row
    raise NotPermitted(step.not_asked.format(reference=placement.reference, role=ctx.role))


def _open_row(ctx: EventContext, step: Step) -> Any:
    """``_current_row``, refused if its person has acted already."""
    row = _current_row(ctx, step)
    if not step.is_open(row):
        raise AlreadyDecided(
            step.already_done.format(
                reference=ctx.placement.reference,
                role=row.role,
                outcome=step.outcome(row).replace("_", " "),
                at=getattr(row, step.acted_at),
            )
        )
    return row


PRECHECKS: Mapping[str, Callable[[EventContext], object]] = {
    event: partial(_open_row, step=step) for event, step in MACHINE_DECISIONS.items()
}
"""An event a person takes in a step is refused if nothing is asked of them, or if they
acted already."""


# --- effects: what an event records beyond the state ---------------------------------------
#
# Effects keep the loaded objects true and write the database with plain statements: a changed
# step row is updated by its key at once, a new one is queued on the context and inserted with
# the others of the batch (``_insert_new_steps``). No ORM flush runs on the hot path; that flush
# cost more than all the event's statements together.


@lru_cache(maxsize=16)
def _by_key(table: Table) -> Update:
    """UPDATE <table> SET <the parameters' columns> WHERE id = :_id, built once per table."""
    return update(table).where(table.c.id == bindparam("_id"))


def one_or_many(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """Parameters for one row as a dict (execute), for more as a list (executemany): the
    executemany path costs more per statement, and most events write one row per table."""
    return rows[0] if len(rows) == 1 else rows


def _update_rows(ctx: EventContext, rows: Sequence[Any], **values: Any) -> None:
    """UPDATE step rows by key and mark the loaded objects as holding the new values."""
    if not rows:
        return
    table = table_of(type(rows[0]))
    params = one_or_many([{"_id": row.id, **values} for row in rows])
    ctx.connection.execute(_by_key(table), params)
    for row in rows:
        for key, value in values.items():
            assign(row, key, value)


def _record_decision(ctx: EventContext) -> None:
    approval = _current_row(ctx, APPROVAL)
    _update_rows(
        ctx,
        [approval],
        decision=APPROVAL.decisions[ctx.event],
        decided_at=ctx.now,
        comment=ctx.comment,
        via=ctx.via,
    )


def _open_steps(ctx: EventContext, step: Step, **columns: Any) -> None:
    """Ask each role of ``step`` for their part in it: a row each, inserted with the batch."""
    placement = ctx.placement
    for role in step.roles(placement.programme):
        person = placement.person_for_role(role)
        row = {
            "placement_id": placement.id,
            "role": role,
            "person_id": person.id,
            "requested_at": ctx.now,
            **step.row_columns,
            **columns,
        }
        ctx.new_steps.append((step.model, step.collection, row, person))


def _open_approval_round(ctx: EventContext) -> None:
    placement = ctx.placement
    ctx.change(approval_round=placement.approval_round + 1)
    _open_steps(ctx, APPROVAL, round=placement.approval_round)


def _record_acceptance(ctx: EventContext) -> None:
    acceptance = _open_row(ctx, AGREEMENT)
    documents = table_of(AgreementDocument)
    sha256 = ctx.connection.execute(
        select(documents.c.sha256).where(documents.c.id == acceptance.document_id)
    ).scalar_one()
    _update_rows(
        ctx, [acceptance], accepted_at=ctx.now, via=ctx.via, token_id=ctx.token_id, sha256=sha256
    )


_INSERT_DOCUMENT = insert(table_of(AgreementDocument)).returning(table_of(AgreementDocument).c.id)


def _issue_agreement(ctx: EventContext) -> None:
    """A new agreement version: earlier acceptances become void, every party is asked again."""
    # Imported here: Jinja and Babel (~40 ms) are for the events that issue an agreement,
    # not for every process that applies an event (registering a file submits each row).
    from states.documents.agreement import render_agreement

    placement = ctx.placement
    _update_rows(ctx, AGREEMENT.current_rows(placement), voided_at=ctx.now)
    ctx.change(agreement_version=placement.agreement_version + 1)
    rendered = render_agreement(
        placement,
        version=placement.agreement_version,
        templates_dir=ctx.uow.config.agreement_templates_dir,
    )
    document_id = ctx.connection.execute(
        _INSERT_DOCUMENT,
        {
            "placement_id": placement.id,
            "version": placement.agreement_version,
            "template": rendered.template,
            "language": rendered.language,
            "sha256": rendered.sha256,
            "content_html": rendered.html,
            "created_at": ctx.now,
        },
    ).scalar_one()
    _open_steps(ctx, AGREEMENT, document_id=document_id)


def _finalise_agreement(ctx: EventContext) -> None:
    documents = table_of(AgreementDocument)
    ctx.connection.execute(
        update(documents)
        .where(
            documents.c.placement_id == ctx.placement.id,
            documents.c.version == ctx.placement.agreement_version,
        )
        .values(final_at=ctx.now)
    )


def _open_evaluation(ctx: EventContext) -> None:
    placement = ctx.placement
    programme = placement.programme
    ctx.change(
        evaluation_due_on=add_business_days(placement.end_date, programme.evaluation_due_after)
    )
    _open_steps(ctx, EVALUATION)


def _record_answers(ctx: EventContext) -> None:
    response = _open_row(ctx, EVALUATION)
    _update_rows(ctx, [response], answers=ctx.answers or {}, submitted_at=ctx.now, via=ctx.via)


ON_EVENT: Mapping[str, Callable[[EventContext], None]] = {
    "submit": _open_approval_round,
    "approve": _record_decision,
    "decline": _record_decision,
    "request_changes": _record_decision,
    "accept": _record_acceptance,
    "amend": _issue_agreement,
    "answer": _record_answers,
}

ON_ENTER: Mapping[str, Callable[[EventContext], None]] = {
    "agreement": _issue_agreement,
    "placement": _finalise_agreement,
    "evaluation": _open_evaluation,
}
