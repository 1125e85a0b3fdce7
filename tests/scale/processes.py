"""Every process the scale-out proof starts, each in a process group of its own, each logging
to a file; all of them stopped together — at the end, on a failure, at interpreter exit and on
SIGTERM/SIGINT — before anything they use (the databases) is dropped.

A Prefect worker started from a non-interactive shell ignores the SIGINT it turns SIGTERM into,
and `prefect server start` runs uvicorn in a child: stopping the group reaches them all.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    expected_exit: bool = False


class Processes:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: dict[str, Started] = {}
        self.history: list[Started] = []  # every start, restarts included (for the logs)
        self.order: list[str] = []  # first starts: stopped in reverse, the server last

    def start(self, name: str, command: Sequence[str], *, env: dict[str, str], cwd: Path) -> None:
        log = self.directory / f"{name}-{sum(s.name == name for s in self.history)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )
        started = Started(name, process, log)
        self.started[name] = started
        self.history.append(started)
        if name not in self.order:
            self.order.append(name)

    def stop(self, name: str, *, timeout: float = 30) -> None:
        started = self.started.pop(name, None)
        if started is None:
            return
        started.expected_exit = True
        _stop_group(started.process, timeout)

    def stop_all(self, *, timeout: float = 30) -> None:
        for name in reversed(self.order):
            self.stop(name, timeout=timeout)

    def exited(self) -> dict[str, int]:
        """Processes that ended on their own while they should be running."""
        return {
            s.name: code for s in self.started.values() if (code := s.process.poll()) is not None
        }

    def logs(self) -> dict[str, str]:
        return {s.log.name: s.log.read_text(errors="replace") for s in self.history}


def _stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # children it may have left behind
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@contextlib.contextmanager
def guarded(directory: Path) -> Iterator[Processes]:
    """Processes stopped on leaving, however the block is left (an exception, SIGTERM from a
    CI timeout, SIGINT, or the interpreter exiting)."""
    processes = Processes(directory)

    def on_signal(number: int, _frame: FrameType | None) -> None:
        processes.stop_all(timeout=5)
        raise SystemExit(128 + number)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    atexit.register(processes.stop_all, timeout=5)
    try:
        yield processes
    finally:
        processes.stop_all()
        atexit.unregister(processes.stop_all)
        for number, handler in previous.items():
            signal.signal(number, handler)
