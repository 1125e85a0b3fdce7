"""README's copy of the lifecycle diagram is the machine's own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from states.lifecycle.diagram import mermaid

README = Path(__file__).resolve().parent.parent / "README.md"


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def diagram_problem(readme: str) -> str | None:
    """What is wrong with a README's copy of the diagram, or None."""
    blocks = mermaid_blocks(readme)
    if len(blocks) != 1:
        return f"README.md should hold exactly one ```mermaid block, not {len(blocks)}"
    if blocks[0] != mermaid():
        return (
            "README.md's state diagram is out of date: replace its ```mermaid block with the "
            "output of `mobility diagram`"
        )
    return None


def test_readme_shows_the_current_state_diagram() -> None:
    assert diagram_problem(README.read_text(encoding="utf-8")) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda diagram: diagram.replace("Withdraw", "Retract"),  # a renamed event
        lambda diagram: diagram.rsplit("\n", 2)[0] + "\n",  # a transition left out
        lambda diagram: diagram + diagram,  # two copies
    ],
    ids=["renamed", "missing", "doubled"],
)
def test_the_check_notices_a_stale_readme(change: Callable[[str], str]) -> None:
    """The real README with its diagram changed as a stale copy would be: the check fails."""
    readme = README.read_text(encoding="utf-8")
    stale = readme.replace(mermaid(), change(mermaid()), 1)
    assert stale != readme
    assert diagram_problem(stale) is not None


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "up"],
        ["make", "test"],
    ]
