"""Issue 9, item 8: a large proposal file is validated and registered as a stream of batches,
in one transaction: its memory is that of a batch, and it is still all rows or none.

The peak for the issue's 200,000-row file is measured by `make bench` (bench/proposal_memory);
here a file of 8,000 rows in a subprocess shows the bound, and small batches of a few rows
show what batching must keep: one transaction, every error, duplicates across batches.
"""

from __future__ import annotations

import csv
import gc
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.common import proposal_rows
from states.bootstrap import App
from states.errors import MAX_LISTED_ERRORS, InvalidInput
from states.intake.input_files import ProposalBatch, ProposalFile
from states.intake.registration import register_proposal_batches
from tests.cli_runner import Run, app_cli, counts  # noqa: F401  (fixture)
from tests.conftest import load_examples

ROOT = Path(__file__).resolve().parent.parent
AS_OF = datetime(2026, 12, 1, 8, tzinfo=UTC)


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def register(app: App, path: Path, *, batch: int) -> list[tuple[str, bool]]:
    proposals = ProposalFile(path)
    registered = register_proposal_batches(
        app.uow(),
        batches=proposals.batches(batch),
        actor="sara",
        via="cli",
        as_of=AS_OF,
        source=proposals.source,
    )
    return [(r.reference, r.created) for r in registered]


@pytest.mark.parametrize("bad_row", [1, 5, 10])
def test_a_bad_row_in_any_batch_creates_nothing(any_app: App, tmp_path: Path, bad_row: int) -> None:
    """Ten rows in batches of three: the first batches are written before the bad row is read;
    the transaction still ends with nothing."""
    load_examples(any_app)
    before = counts(any_app)
    rows = proposal_rows(10)
    rows[bad_row - 1]["participant_email"] = "not-an-address"
    path = write_rows(tmp_path / "p.csv", rows)
    with pytest.raises(InvalidInput) as invalid:
        register(any_app, path, batch=3)
    assert [(e.row, e.field) for e in invalid.value.errors] == [(bad_row, "participant_email")]
    assert counts(any_app) == before


def test_errors_of_every_batch_are_reported_by_row_and_field(any_app: App, tmp_path: Path) -> None:
    load_examples(any_app)
    before = counts(any_app)
    rows = proposal_rows(10)
    rows[1]["extent_percent"] = "0"
    rows[6]["programme"] = "no-such-programme"  # found only against the database
    rows[9]["end"] = "2020-01-01"
    with pytest.raises(InvalidInput) as invalid:
        register(any_app, write_rows(tmp_path / "p.csv", rows), batch=3)
    assert [(e.row, e.field) for e in invalid.value.errors] == [
        (2, "extent_percent"),
        (7, "programme"),
        (10, "end"),
    ]
    assert counts(any_app) == before


def test_duplicates_are_found_across_batches(any_app: App, tmp_path: Path) -> None:
    load_examples(any_app)
    rows = proposal_rows(7)
    rows.append(dict(rows[1]))  # row 8 repeats row 2, two batches later
    path = write_rows(tmp_path / "p.csv", rows)
    first = register(any_app, path, batch=3)
    assert [created for _, created in first] == [True] * 7 + [False]
    assert first[7][0] == first[1][0]
    after = counts(any_app)
    again = register(any_app, path, batch=3)
    assert again == [(reference, False) for reference, _ in first]
    assert counts(any_app) == after


def test_a_batch_lets_go_of_its_objects_before_the_next_is_read(
    any_app: App, tmp_path: Path
) -> None:
    """Whatever the file's size, the session holds no more than one batch's objects."""
    load_examples(any_app)
    path = write_rows(tmp_path / "p.csv", proposal_rows(40))
    uow = any_app.uow()
    held: list[int] = []

    def watched(batches: Iterator[ProposalBatch]) -> Iterator[ProposalBatch]:
        for batch in batches:
            held.append(len(uow.session.identity_map))
            yield batch

    registered = register_proposal_batches(
        uow, batches=watched(ProposalFile(path).batches(4)), actor="s", via="cli", as_of=AS_OF
    )
    assert len(registered) == 40 and len(held) == 10
    assert max(held) <= 4, held  # the programme and its coordinator, read again per batch


def test_the_collector_is_paused_while_a_batch_is_read_and_on_again_after(
    sqlite_app: App, tmp_path: Path
) -> None:
    """A batch is read and validated with Python's cyclic collector paused, as it is written;
    it is on again once the file is registered, and once a file is refused."""
    load_examples(sqlite_app)
    good = write_rows(tmp_path / "good.csv", proposal_rows(7))
    rows = proposal_rows(7)
    rows[5]["participant_email"] = "not-an-address"
    bad = write_rows(tmp_path / "bad.csv", rows)
    collecting: list[bool] = []

    def watched(path: Path) -> Iterator[ProposalBatch]:
        for batch in ProposalFile(path).batches(3):
            collecting.append(gc.isenabled())
            yield batch

    assert gc.isenabled()
    register_proposal_batches(sqlite_app.uow(), batches=watched(good), actor="s", via="cli")
    assert (collecting, gc.isenabled()) == ([False] * 3, True)
    collecting.clear()
    with pytest.raises(InvalidInput):
        register_proposal_batches(sqlite_app.uow(), batches=watched(bad), actor="s", via="cli")
    assert (collecting, gc.isenabled()) == ([False] * 3, True)


def test_errors_beyond_the_first_hundred_are_counted(
    app_cli: Callable[..., Run],  # noqa: F811
    any_app: App,
    tmp_path: Path,
) -> None:
    load_examples(any_app)
    before = counts(any_app)
    rows = proposal_rows(300)
    for row in rows[50:]:
        row["participant_language"] = "de"
    run = app_cli("propose", str(write_rows(tmp_path / "p.csv", rows)))
    assert run.code == 2 and "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert lines[0].endswith("p.csv: 250 errors, nothing was created")
    assert len(lines) == 1 + MAX_LISTED_ERRORS + 1
    assert lines[1] == "  row 51, participant_language: Input should be 'sv' or 'en'"
    assert lines[-1] == f"  … and {250 - MAX_LISTED_ERRORS} more"
    assert counts(any_app) == before


PROPOSE = """
import sys
sys.argv = ["mobility", "propose", sys.argv[1]]
from cli.main import main
try:
    main()
except SystemExit as stop:
    if stop.code:
        raise
print("VmHWM", open("/proc/self/status").read().split("VmHWM:")[1].split()[0], file=sys.stderr)
"""


def _peak_mib(path: Path, database: str, var: Path) -> float:
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": database,
        "MOBILITY_VAR_DIR": str(var),
        "MOBILITY_SECRET_KEY": "test-secret-key",
    }
    env.pop("MOBILITY_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROPOSE, str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    [kib] = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("VmHWM ")]
    return int(kib) / 1024


def test_the_peak_memory_of_propose_does_not_grow_with_the_file(app: App, tmp_path: Path) -> None:
    """8,000 rows in a subprocess against the same command on one row. Registered whole, the
    file took 22 MiB per 1,000 rows (180 MiB over the one-row run here, 4.4 GB for 200,000
    rows); streamed, it takes what one batch takes (about 60 MiB) whatever the rows."""
    load_examples(app)
    database = app.engine.url.render_as_string(hide_password=False)
    one = write_rows(tmp_path / "one.csv", proposal_rows(1, offset=100_000))
    many = write_rows(tmp_path / "many.csv", proposal_rows(8_000))
    floor = _peak_mib(one, database, tmp_path / "var")
    peak = _peak_mib(many, database, tmp_path / "var")
    print(f"propose 8,000 rows: peak {peak:.0f} MiB, one row {floor:.0f} MiB")
    assert peak - floor < 110, (floor, peak)
