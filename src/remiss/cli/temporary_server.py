"""Prefect's temporary server, which a command running a flow without PREFECT_API_URL starts:
it dies with the command, and what it prints goes to a log file, not the operator's screen.

Prefect starts it as a plain child process and stops it from an atexit handler, which a
command killed with SIGKILL never runs: the server ran on, holding its SQLite database, and
the next command's own temporary server printed Prefect's traceback ("Max flush retries (5)
reached, dropping 25 events … NOT NULL constraint failed: events.occurred") into the
operator's terminal. Here the command starts that server itself, in its main thread, with
the parent-death signal set (Linux; `stopping.die_with_parent`), and Prefect finds it running
and uses it.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from remiss.cli import stopping

LOG_NAME = "temporary-server.log"


class _Subprocess:
    """The subprocess module as Prefect's server module sees it: its Popen starts a child
    that dies with this command and writes to the log file instead of the terminal."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # The signal follows the thread that starts the child: only the main thread lives
        # as long as the command does.
        if threading.current_thread() is threading.main_thread():
            kwargs.setdefault("preexec_fn", stopping.die_with_parent)
        with self.log.open("ab") as out:
            kwargs.setdefault("stdout", out)
            kwargs.setdefault("stderr", subprocess.STDOUT)
            return subprocess.Popen(*args, **kwargs)


def log_path() -> Path:
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()) / LOG_NAME


def _server_module() -> ModuleType:
    from prefect.server.api import server

    return server


def start() -> str | None:
    """Start Prefect's temporary server now, if this command needs one (no PREFECT_API_URL);
    its API address, or None when a server is configured."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    module = _server_module()
    if not isinstance(getattr(module, "subprocess", None), _Subprocess):
        setattr(module, "subprocess", _Subprocess(log_path()))  # noqa: B010
    server = module.SubprocessASGIServer()
    server.start()
    return str(server.api_url)
