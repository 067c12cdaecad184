"""`remiss up`: the whole service on one machine, until Ctrl-C, SIGTERM or SIGHUP.

Three processes, each in its own process group so that stopping reaches their children:
a Prefect server (SQLite in PREFECT_HOME unless PREFECT_API_DATABASE_CONNECTION_URL says
otherwise; its UI on `ui_port`), `python -m flows.serve` serving every deployment with
its schedules and triggers (and creating the automation that marks a flow run Crashed
when its process stops sending heartbeats), and the answer page (`remiss portal`), which
hands answers on as events (answer_trigger: event).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from remiss.cli import stopping
from remiss.core.errors import InputError, RemissError
from remiss.core.settings import PROJECT_ROOT, Settings

BIN = Path(sys.executable).parent

# Prefect's own database grows with every run and event; these keep it bounded.
RETENTION = {
    # Delete events (and their resources) older than 30 days.
    "PREFECT_SERVER_EVENTS_RETENTION_PERIOD": "P30D",
    # Vacuum old events and finished flow runs (with their logs and artifacts).
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(90 * 24 * 3600),
}


@dataclass
class Service:
    settings: Settings
    host: str = "127.0.0.1"
    ui_port: int = 4200
    port: int = 8000
    say: Callable[[str], None] = print
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}/api"

    def environment(self) -> dict[str, str]:
        # Here, not at the top: it imports Prefect, which scripts/demo.py need not wait for.
        from flows.automations import HEARTBEAT_ENV

        env = dict(os.environ)
        env.setdefault("PREFECT_HOME", str(self.settings.data_dir / "prefect"))
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        for key, value in RETENTION.items():
            env.setdefault(key, value)
        env["PREFECT_API_URL"] = self.api_url
        env["REMISS_ANSWER_TRIGGER"] = "event"
        # Flow runs beat as often as the crash automation expects (flows/automations.py).
        env.update(HEARTBEAT_ENV)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        return env

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = self.settings.data_dir / "logs" / f"{name}.log"
        self.processes.append((name, spawn(args, env, log)))

    def run(self) -> int:
        for port, what in ((self.ui_port, "Prefect"), (self.port, "svarssidan")):
            if _in_use(self.host, port):
                raise InputError(
                    f"porten {port} ({what}) används redan; stoppa det som lyssnar där "
                    "eller välj en annan port",
                    value=port,
                )
        (self.settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        env = self.environment()
        stop = _StopSignal()
        try:
            self.start("prefect-server", prefect_server(self.host, self.ui_port), env)
            wait_for_prefect(
                self.api_url,
                self.processes[0][1],
                self.settings.data_dir / "logs",
                stopped=lambda: stop.requested,
            )
            self.start("deployments", [sys.executable, "-m", "flows.serve"], env)
            self.start(
                "portal",
                [str(BIN / "remiss"), "portal", "--adress", self.host, "--port", str(self.port)],
                env,
            )
            self.say(f"Prefect (flöden, körningar, händelser): http://{self.host}:{self.ui_port}")
            self.say(f"Svarssidan: http://{self.host}:{self.port}/  (översikten: /admin)")
            self.say(f"Loggar: {self.settings.data_dir / 'logs'}")
            self.say("Stoppa med Ctrl-C.")
            while not stop.requested:
                for name, process in self.processes:
                    if process.poll() is not None:
                        raise RemissError(
                            f"{name} stannade (kod {process.returncode}); se "
                            f"{self.settings.data_dir / 'logs' / (name + '.log')}"
                        )
                time.sleep(0.5)
            return 0
        finally:
            self.stop_all()
            stop.restore()

    def stop_all(self) -> None:
        # Every process below, taken before stopping: a flow run that the deployments'
        # process started in a session of its own may outlive it, and is ended at the end.
        below = stopping.descendants()
        # The portal and the deployments first, the server they report to last.
        for _name, process in reversed(self.processes):
            stop_group(process)
        self.processes.clear()
        stopping.end(below, stopping.GRACE_SECONDS)


def prefect_server(host: str, port: int, *options: str) -> list[str]:
    """The command that runs a Prefect server on host:port (its API under /api)."""
    return [str(BIN / "prefect"), "server", "start", "--host", host, "--port", str(port), *options]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A service in a process group of its own, so that stopping it reaches its children;
    its output appended to `log`."""
    return subprocess.Popen(
        args,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=stopping.die_with_parent,
    )


def wait_for_prefect(
    api_url: str,
    process: subprocess.Popen[bytes],
    logs: Path,
    *,
    stopped: Callable[[], bool] = lambda: False,
    seconds: float = 180,
) -> None:
    """Until the Prefect server that `process` runs answers on api_url (or a stop is asked)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopped():
        if process.poll() is not None:
            raise RemissError(f"Prefects server startade inte; se {logs}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    if not stopped():
        raise RemissError("Prefects server svarade inte inom tre minuter")


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group; SIGKILL if it has not stopped within 30 s."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=10)


class _StopSignal:
    """The first stop signal asks the loop in `Service.run` to stop everything in order; a
    second, while that goes on, ends every process below at once (`stopping.hurry`)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = {sig: signal.signal(sig, self._handle) for sig in stopping.SIGNALS}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            stopping.hurry(signum)
        self.requested = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
