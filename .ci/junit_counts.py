"""Counts of a pytest junit XML: test cases run, skipped, failed, and run on PostgreSQL (the
cases tests/conftest.py marked with the property database=postgresql)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> None:
    cases = list(ET.parse(path).getroot().iter("testcase"))
    skipped = [c for c in cases if c.find("skipped") is not None]
    failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    on_postgres = [
        c
        for c in cases
        if c.find("skipped") is None
        and any(
            p.get("name") == "database" and p.get("value") == "postgresql"
            for p in c.iter("property")
        )
    ]
    print(
        f"{len(cases) - len(skipped)} tests ran ({len(on_postgres)} on PostgreSQL), "
        f"{len(skipped)} skipped, {len(failed)} failed"
    )


if __name__ == "__main__":
    main(sys.argv[1])
