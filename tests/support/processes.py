"""Long-running services for tests, each in a session of its own so that it stops whole."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from remiss.cli.up import spawn
from tests.support.net import answers_ok, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).parent / "prefect"


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A service started as `remiss up` starts its own (one spawn for both): a session of
    its own, and on Linux it dies with the test process, even a test run killed with -9.
    Call it from the main thread: the parent-death signal follows the starting thread."""
    log.unlink(missing_ok=True)
    return spawn(args, env, log)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def prefect_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """A Prefect server of its own on a free port; yields its API address."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server = start(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log
    )
    try:
        wait_until(lambda: answers_ok(f"{api}/health"), "Prefect's server")
        yield api
    finally:
        stop(server)


def descendants(pid: int) -> list[int]:
    """Every process below pid, from /proc (a process worker starts each flow run in a
    session of its own, so the worker's process group does not hold it)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
