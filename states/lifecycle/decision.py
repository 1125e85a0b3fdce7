"""Asking the machine: which state an event leads a placement to, or None if refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from statemachine.callbacks import CallbackGroup
from statemachine.exceptions import TransitionNotAllowed

from models import Placement
from states.lifecycle.machine import PlacementMachine


class _GuardView:
    """What a guard of ``PlacementMachine`` reads as ``self``: the model, nothing else."""

    __slots__ = ("model",)

    def __init__(self, model: Placement) -> None:
        self.model = model


Guard = tuple[Callable[..., bool], bool]
Route = tuple[str, tuple[Guard, ...]]


def _routes_from_machine() -> dict[tuple[str, str], tuple[Route, ...]] | None:
    """The machine's own transition table, read once per process: for each (state, event), the
    targets in declaration order with the guard methods that must hold (``cond``) or fail
    (``unless``). None when a guard is anything but a plain method of the machine (an
    expression, a model attribute), so the machine itself is asked every time."""
    routes: dict[tuple[str, str], list[Route]] = {}
    for state in PlacementMachine.states:
        for transition in state.transitions:
            guards: list[Guard] = []
            for spec in transition._specs:  # the declared guards
                if spec.group is not CallbackGroup.COND:
                    continue
                method = getattr(PlacementMachine, str(spec.func), None)
                if not isinstance(spec.func, str) or not callable(method):
                    return None
                if not spec.func.isidentifier():
                    return None
                guards.append((method, bool(spec.expected_value)))
            for event in transition.events:
                routes.setdefault((state.value, event.id), []).append(
                    (transition.target.value, tuple(guards))
                )
    return {key: tuple(value) for key, value in routes.items()}


_ROUTES = _routes_from_machine()


def decide(placement: Placement, event: str, *, role: str | None, as_of: datetime) -> str | None:
    """The state ``event`` leads ``placement`` to, or None if the machine refuses it.

    The machine is the authority: its transition table and guard methods decide, exactly as
    ``PlacementMachine(model=placement).send(event, role=role, as_of=as_of)`` would (the first
    transition whose guards hold wins). Building a machine instance costs about half a
    millisecond, more than the rest of the decision, so the table is read once per process.
    """
    if _ROUTES is None:
        return _decide_with_instance(placement, event, role=role, as_of=as_of)
    view = _GuardView(placement)
    for target, guards in _ROUTES.get((placement.state, event), ()):
        if all(bool(guard(view, role=role, as_of=as_of)) is expected for guard, expected in guards):
            return target
    return None


def _decide_with_instance(
    placement: Placement, event: str, *, role: str | None, as_of: datetime
) -> str | None:
    before = placement.state
    machine = PlacementMachine(model=placement)
    try:
        machine.send(event, role=role, as_of=as_of)
    except TransitionNotAllowed:
        return None
    target = placement.state
    placement.state = before
    return target
