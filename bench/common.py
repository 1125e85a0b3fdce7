"""What every benchmark shares: results, fresh databases, the example programmes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from models.migrate import upgrade
from states.bootstrap import App, bootstrap
from tests.databases import scratch_postgres_database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
POSTGRES_URL = os.environ.get("MOBILITY_TEST_POSTGRES_URL")


@dataclass(frozen=True)
class Result:
    benchmark: str
    backend: str
    project: float
    baseline: float
    unit: str
    target: str
    higher_is_better: bool
    met: Callable[[float], bool]
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.project / self.baseline if self.baseline else float("nan")

    @property
    def ok(self) -> bool:
        return self.met(self.ratio)


def backends() -> list[str]:
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A migrated, empty database of its own; removed afterwards."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="mobility-bench-"))
        try:
            url = f"sqlite:///{folder / 'bench.db'}"
            upgrade(url)
            yield url
        finally:
            from models.db import get_engine

            get_engine(url).dispose()
            shutil.rmtree(folder, ignore_errors=True)
        return
    assert POSTGRES_URL
    with scratch_postgres_database(POSTGRES_URL, prefix="mobility_bench") as url:
        yield url


def make_app(url: str, var_dir: Path | None = None) -> App:
    settings = Settings(
        database_url=url,
        var_dir=var_dir or Path(tempfile.mkdtemp(prefix="mobility-bench-var-")),
        secret_key="bench-secret",
        _env_file=None,  # type: ignore[call-arg]
    )
    return bootstrap(settings)


def load_example_programmes(app: App) -> None:
    from states.intake.input_files import load_programme
    from states.intake.registration import register_programme

    for name in ("programme-affiliation.yaml", "programme-paus.yaml"):
        programme, source = load_programme(EXAMPLES / name)
        register_programme(app.uow(), programme=programme, source=source)


def proposal_rows(
    count: int, *, programme: str = "paus-2027", offset: int = 0
) -> list[dict[str, str]]:
    """``count`` distinct proposals in the flat CSV shape (numbered from ``offset``)."""
    rows = []
    for n in range(offset, offset + count):
        rows.append(
            {
                "programme": programme,
                "participant_name": f"Participant {n}",
                "participant_email": f"participant{n}@univ.example",
                "participant_language": "sv" if n % 2 else "en",
                "home_organisation": f"Department {n % 40}",
                "home_manager_name": f"Manager {n % 200}",
                "home_manager_email": f"manager{n % 200}@univ.example",
                "host_organisation": f"Host {n % 500} AB",
                "host_contact_name": f"Host Contact {n % 500}",
                "host_contact_email": f"contact{n % 500}@host.example",
                "host_contact_language": "sv",
                "start": f"2027-{1 + n % 12:02d}-01",
                "end": f"2028-{1 + n % 12:02d}-01",
                "extent_percent": "20",
                "purpose": "Apply research on scheduling to the host's planning.",
                "development_plan": "Learn the host's methods.",
                "value_for_home": "Cases for teaching.",
                "value_for_host": "A review of the planning model.",
                "student_involvement": "Two student projects.",
                "funding_sek": "100000",
            }
        )
    return rows
