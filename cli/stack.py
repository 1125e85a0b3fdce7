"""``mobility up``: the whole stack on one machine, supervised.

Children, each in its own process group (so stopping a group also stops what it started —
uvicorn workers, flow-run subprocesses):

1. ``prefect server start`` on 127.0.0.1:4200 with its UI — unless ``PREFECT_API_URL`` points
   at a server already;
2. ``python -m flows.serve``: every deployment of prefect.yaml with its schedules;
3. ``mobility web``: the link pages on 127.0.0.1:8000 and, with no SMTP host configured, the
   mail catcher and /dev/mail.

Ctrl-C or SIGTERM stops them in reverse order: SIGTERM to each group, SIGKILL after a grace
period. If a child dies on its own, the others are stopped too and ``up`` exits non-zero.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from states.errors import MobilityError

if TYPE_CHECKING:
    from config import Settings

GRACE_SECONDS = 15.0
LOCAL_SENDER_WARNING = (
    "  warning         the sender is {mail_from}: From, Message-ID and the calendar events' UID "
    "say @localhost;\n                  set MOBILITY_MAIL_FROM to an address of your own "
    "domain before real mail goes out"
)


class StackError(MobilityError):
    """The stack cannot start: a port is taken, a child did not come up."""


@dataclass
class Child:
    name: str
    argv: list[str]
    ready_url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def port_free(host: str, port: int) -> bool:
    import socket  # not at import: every `mobility --help` would pay for it

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def answers(url: str) -> bool:
    import urllib.request  # not at import: `mobility --help` would pay for http.client and ssl

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


def prefect_executable() -> str:
    beside = Path(sys.executable).parent / "prefect"
    return str(beside) if beside.exists() else (shutil.which("prefect") or "prefect")


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        env: dict[str, str],
        cwd: Path,
        echo: Callable[[str], None] = typer.echo,
    ) -> None:
        self.children = children
        self.env = env
        self.cwd = cwd
        self.echo = echo
        self.stopping = False

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def start(self, child: Child, timeout: float = 120.0) -> None:
        child.process = subprocess.Popen(
            child.argv,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        if child.ready_url is None:
            return
        deadline = time.monotonic() + timeout
        while not answers(child.ready_url):
            if not child.alive:
                raise StackError(
                    f"{child.name} exited while starting (exit code {child.process.returncode})"
                )
            if self.stopping:
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{child.name} did not answer at {child.ready_url} within {timeout:.0f} s"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        for child in reversed(self.children):
            process = child.process
            if process is None:
                continue
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.echo(f"{child.name} did not stop within {GRACE_SECONDS:.0f} s; killing it")
                self._signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            # Whatever the leader left behind in its group goes with it.
            self._signal_group(process.pid, signal.SIGKILL)

    @staticmethod
    def _signal_group(pgid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)

    def run(self, announce: Callable[[], None]) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                if self.stopping:
                    break
                self.echo(f"starting {child.name} ...")
                self.start(child)
            if not self.stopping:
                announce()
            while not self.stopping:
                dead = [c for c in self.children if not c.alive]
                if dead:
                    code = dead[0].process.returncode if dead[0].process else None
                    self.echo(f"{dead[0].name} exited (code {code}); stopping everything")
                    return 1
                time.sleep(0.5)
            self.echo("stopping ...")
            return 0
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.echo("stopped")


def _environment(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str(var_dir / "prefect"))
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["DO_NOT_TRACK"] = "1"
    # The served flows look for triggered runs every second (Prefect's default is 10): mail
    # leaves within seconds of a decision. One small query a second.
    env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")
    env["MOBILITY_VAR_DIR"] = str(var_dir)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def _prefect_server(env: dict[str, str], host: str, prefect_port: int) -> Child:
    """The Prefect server ``up`` starts when no PREFECT_API_URL points at one; sets it."""
    if not port_free(host, prefect_port):
        raise StackError(
            f"port {prefect_port} is taken; stop what runs there, set "
            "PREFECT_API_URL to a running Prefect server, or pass --prefect-port"
        )
    env["PREFECT_API_URL"] = f"http://{host}:{prefect_port}/api"
    env["PREFECT_UI_API_URL"] = env["PREFECT_API_URL"]
    return Child(
        "prefect server",
        [prefect_executable(), "server", "start", "--host", host, "--port", str(prefect_port)],
        ready_url=f"http://{host}:{prefect_port}/api/health",
    )


def _announcement(
    settings: "Settings",
    *,
    host: str,
    web_port: int,
    api_url: str,
    own_server: bool,
    every: float | None,
    dev_sign_in: bool,
) -> str:
    ui = api_url.removesuffix("/api")
    lines = [
        "",
        "Mobility Engine is up:",
        f"  links web app   http://{host}:{web_port}",
        f"  board           http://{host}:{web_port}/board/"
        + ("  (development sign-in)" if dev_sign_in else ""),
        f"  Prefect UI      {ui}{'' if own_server else '  (your server)'}",
        f"  database        {settings.resolved_database_url}",
    ]
    if settings.uses_mail_catcher:
        lines.append(
            f"  caught mail     http://{host}:{web_port}/dev/mail"
            f"  (SMTP catcher on {host}:{settings.catcher_port})"
        )
    else:
        lines.append(f"  mail            via {settings.smtp_host}:{settings.smtp_port}")
    from states.bootstrap import sender_domain_is_local  # not at import: --help stays light

    if sender_domain_is_local(settings.mail_from):
        lines.append(LOCAL_SENDER_WARNING.format(mail_from=settings.mail_from))
    safety_net = f"every {every:g} s" if every else "every 15 min"
    lines += [
        f"  deliveries      as soon as mail is queued (a Prefect trigger); {safety_net} as a "
        "safety net",
        "  sweep           weekday mornings and hourly 8-17 (Europe/Stockholm)",
        "  automations     a failed sweep or delivery and a dead email alert MOBILITY_OPS_EMAIL",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


def _app_children(host: str, web_port: int, deliver_every: float | None) -> list[Child]:
    """The served flows and the web app (after the Prefect server, if up starts one)."""
    return [
        Child(
            "scheduled flows",
            [sys.executable, "-m", "flows.serve"]
            + (["--deliver-every", str(deliver_every)] if deliver_every else []),
        ),
        Child(
            "web app",
            [sys.executable, "-m", "cli.main", "web", "--host", host, "--port", str(web_port)],
            ready_url=f"http://{host}:{web_port}/healthz",
        ),
    ]


def set_up_automations(env: dict[str, str]) -> None:
    """``mobility prefect setup`` against the stack's server; a failure is a warning only."""
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "prefect", "setup"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        typer.echo(f"  warning         the automations were not set up: {reason}")


def up(
    web_port: int = typer.Option(8000, "--web-port", help="Port of the link web app."),
    prefect_port: int = typer.Option(
        4200, "--prefect-port", help="Port of the Prefect server (when up starts it)."
    ),
    deliver_every: float | None = typer.Option(
        None,
        "--deliver-every",
        min=1.0,
        help="Seconds between safety-net deliveries (default 900); queued mail leaves at once.",
    ),
) -> None:
    """Run everything on this machine: migrations, Prefect server and UI, the scheduled flows,
    the link web app and (without MOBILITY_SMTP_HOST) the mail catcher. Ctrl-C stops it all."""
    from cli.common import get_app
    from models.migrate import upgrade
    from web.board.config import check_bind

    settings = get_app().settings
    host = "127.0.0.1"
    board = check_bind(settings, host)
    upgrade(settings.resolved_database_url)
    env = _environment(settings.var_dir.resolve())
    own_server = not env.get("PREFECT_API_URL")
    children = [_prefect_server(env, host, prefect_port)] if own_server else []
    taken = [
        p
        for p in (web_port, settings.catcher_port)
        if (p == web_port or settings.uses_mail_catcher) and not port_free(host, p)
    ]
    if taken:
        raise StackError(
            f"port {taken[0]} is taken; stop what runs there or choose another "
            "(--web-port, MOBILITY_CATCHER_PORT)"
        )
    children += _app_children(host, web_port, deliver_every)
    text = _announcement(
        settings,
        host=host,
        web_port=web_port,
        api_url=env["PREFECT_API_URL"],
        own_server=own_server,
        every=deliver_every,
        dev_sign_in=board.dev_sign_in,
    )

    def announce() -> None:
        set_up_automations(env)
        typer.echo(text)

    code = Supervisor(children, env, Path.cwd()).run(announce)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("up")(up)
