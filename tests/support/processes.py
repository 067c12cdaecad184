"""Long-running services for tests, each in a session of its own so that it stops whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import answers_ok, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).parent / "prefect"


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


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
