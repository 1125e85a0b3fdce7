"""The placement machine as Mermaid (for README) or Graphviz DOT; no Graphviz binary needed."""

from __future__ import annotations

from states.errors import MobilityError
from states.lifecycle.machine import PlacementMachine


def mermaid() -> str:
    return format(PlacementMachine, "mermaid").rstrip() + "\n"


def dot() -> str:
    lines = [
        "digraph PlacementMachine {",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        "  start [shape=point];",
    ]
    for state in PlacementMachine.states:
        shape = ", peripheries=2" if state.final else ""
        lines.append(f'  {state.value} [label="{state.name}"{shape}];')
    initial = PlacementMachine.initial_state
    assert initial is not None
    lines.append(f"  start -> {initial.value};")
    for state in PlacementMachine.states:
        for transition in state.transitions:
            if transition.internal:
                continue
            target = transition.target
            assert target is not None
            guards = [str(c) for c in transition.cond]
            label = " ".join(e.id for e in transition.events)
            if guards:
                label += " [" + ", ".join(guards) + "]"
            lines.append(f'  {state.value} -> {target.value} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


FORMATS = {"mermaid": mermaid, "dot": dot}


def render(fmt: str) -> str:
    try:
        return FORMATS[fmt]()
    except KeyError:
        raise MobilityError(f"unknown format {fmt!r}; use mermaid or dot") from None
