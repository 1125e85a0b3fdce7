"""ONE Prefect test server for the whole session (10–12 s to start), shared by every flow test.

Only tests that request ``prefect_server`` pay for it; the rest of the suite never imports
Prefect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The root conftest points PREFECT_HOME under var/; Prefect creates only the last folder.
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield str(PREFECT_API_URL.value())
