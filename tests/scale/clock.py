"""A simulated calendar shared by processes: one ISO datetime in a file, moved by the test."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, moment: datetime) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(moment.isoformat())
        os.replace(temporary, self.path)  # readers never see half a time

    def __call__(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())
