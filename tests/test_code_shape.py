"""Rooms with one job each: no product module over 400 lines, no product function over 60
lines (measured with ``ast``; ruff's C901/PLR0912/PLR0915 bound their branching)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("cli", "config", "flows", "models", "notifications", "reporting", "states", "web")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# An Alembic revision is a record of the schema as it was, written once and never edited.
FROZEN = ROOT / "models" / "migrations" / "versions"


def product_modules() -> Iterator[Path]:
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if FROZEN not in path.parents:
                yield path


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                yield node.name, length


def test_no_product_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in product_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_product_function_is_over_60_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {name} ({length} lines)"
        for path in product_modules()
        for name, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert long == []


def test_the_measure_counts_a_function_from_def_to_its_last_line() -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(60))
    assert list(long_functions(f"def f():\n{body}\n")) == [("f", 61)]
    assert list(long_functions(f"def f():\n{body}\n", limit=61)) == []
