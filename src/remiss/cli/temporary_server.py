"""Prefect's temporary server, which a command running a flow without PREFECT_API_URL starts:
it dies with the command, and what it prints goes to a log file, not the operator's screen.

Prefect starts it as a plain child process and stops it from an atexit handler, which a
command killed with SIGKILL never runs: the server ran on, holding its SQLite database, and
the next command's own temporary server printed Prefect's traceback ("Max flush retries (5)
reached, dropping 25 events … NOT NULL constraint failed: events.occurred") into the
operator's terminal. Here the command starts that server itself, in its main thread, with
the parent-death signal set (Linux; `stopping.die_with_parent`), and Prefect finds it running
and uses it.

The portal starts it later, from the thread that runs its answers and jobs: the signal would
follow that thread, not the process, so a server started from any other thread than the
main one watches its parent itself (`_GUARD`) and stops when it is gone.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from remiss.cli import stopping

LOG_NAME = "temporary-server.log"

# `python -c _GUARD PARENT MODULE ARGS…` runs MODULE as `python -m MODULE ARGS…` would, and
# stops it (SIGTERM, which uvicorn takes as a stop; then exit) once PARENT is no longer its
# parent: the parent died, even by SIGKILL, and the child was handed on to init.
_GUARD = """
import os, runpy, signal, sys, threading, time
parent = int(sys.argv[1])
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
threading.Thread(target=watch, daemon=True).start()
sys.argv = sys.argv[2:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def guarded(args: list[str]) -> list[str]:
    """`python -m MODULE …` as a child that ends when this process does (see _GUARD)."""
    python, flag, module, *rest = args
    if flag != "-m":
        raise ValueError(f"expected python -m MODULE, got {args[:3]}")
    return [python, "-c", _GUARD, str(os.getpid()), module, *rest]


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
        # as long as the command does. From another thread the child watches its parent.
        if threading.current_thread() is threading.main_thread():
            kwargs.setdefault("preexec_fn", stopping.die_with_parent)
        elif "args" in kwargs:
            kwargs["args"] = guarded(list(kwargs["args"]))
        else:
            args = (guarded(list(args[0])), *args[1:])
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


def install() -> ModuleType | None:
    """Have Prefect start its temporary server as described above, whenever it does (not
    at all when PREFECT_API_URL names a server); Prefect's server module, or None."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    module = _server_module()
    if not isinstance(getattr(module, "subprocess", None), _Subprocess):
        setattr(module, "subprocess", _Subprocess(log_path()))  # noqa: B010
    return module


def start() -> str | None:
    """Start Prefect's temporary server now, if this command needs one (no PREFECT_API_URL);
    its API address, or None when a server is configured."""
    module = install()
    if module is None:
        return None
    server = module.SubprocessASGIServer()
    server.start()
    return str(server.api_url)
