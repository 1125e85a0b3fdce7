"""README's copy of the lifecycle diagram is the machine's own."""

from __future__ import annotations

import re
from pathlib import Path

from states.lifecycle.diagram import mermaid

README = Path(__file__).resolve().parent.parent / "README.md"


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_shows_the_current_state_diagram() -> None:
    blocks = mermaid_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "README.md should hold exactly one ```mermaid block"
    assert blocks[0] == mermaid(), (
        "README.md's state diagram is out of date: replace its ```mermaid block with the "
        "output of `mobility diagram`"
    )


def test_the_check_notices_a_stale_copy() -> None:
    stale = "```mermaid\n" + mermaid().replace("Withdraw", "Retract") + "```\n"
    assert mermaid_blocks(stale) != [mermaid()]


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "up"],
        ["make", "test"],
    ]
