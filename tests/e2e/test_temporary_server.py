"""A command that runs a flow without PREFECT_API_URL starts Prefect's temporary server; a
`kill -9` of the command leaves no server behind, and what the server prints reaches no
terminal (it goes to a log file under PREFECT_HOME). Linux only, as the product's
parent-death signal is: the processes are read from /proc."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from remiss.cli.temporary_server import LOG_NAME
from tests.conftest import EXAMPLE_CASE, ROOT, future_deadline
from tests.e2e.conftest import REMISS, RunCli
from tests.support.processes import descendants


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_command_leaves_no_temporary_prefect_server(
    run_cli: RunCli, cli_env: dict[str, str], prefect_home: Path
) -> None:
    assert run_cli("init").returncode == 0
    command = subprocess.Popen(
        [str(REMISS), "inbox", "poll"],
        env=cli_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        servers: list[int] = []
        while not servers and time.monotonic() < deadline and command.poll() is None:
            servers = [p for p in descendants(command.pid) if "uvicorn" in cmdline(p)]
            time.sleep(0.05)
        assert servers, "the command started no temporary server"
        os.kill(command.pid, signal.SIGKILL)
        command.wait(timeout=10)
        gone_by = time.monotonic() + 10
        while any(alive(p) for p in servers) and time.monotonic() < gone_by:
            time.sleep(0.1)
        left = [p for p in servers if alive(p)]
        assert left == [], f"left running after kill -9: {[cmdline(p) for p in left]}"
    finally:
        if command.poll() is None:
            command.kill()
        out, err = command.communicate(timeout=10)
    # The server writes to its log file, never to the command's terminal.
    assert b"Traceback" not in out + err
    assert (prefect_home / LOG_NAME).exists()


def test_a_command_that_finishes_stops_its_temporary_server(
    run_cli: RunCli, prefect_home: Path
) -> None:
    assert run_cli("init").returncode == 0
    result = run_cli("inbox", "poll")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Lästa meddelanden: 0" in result.stdout
    servers = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(prefect_home) in _environ(int(p.name))
    ]
    assert [cmdline(p) for p in servers if alive(p)] == []


def _environ(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_slots_a_killed_command_left_taken_do_not_block_the_next_send(
    cli_env: dict[str, str], prefect_home: Path
) -> None:
    # A command killed with its temporary server leaves its mail slots counted in Prefect's
    # database, and no later server knows their leases (they lived in the dead one's memory).
    def remiss(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REMISS), *args], env=cli_env, cwd=ROOT, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    assert remiss("init").returncode == 0
    deadline = future_deadline().isoformat()
    first = remiss("round", "start", str(EXAMPLE_CASE), "--deadline", deadline, "--till", "kpr")
    assert first.returncode == 0, first.stdout + first.stderr
    with sqlite3.connect(prefect_home / "prefect.db") as db:
        db.execute('UPDATE concurrency_limit_v2 SET active_slots = "limit" + 3')

    again = remiss("round", "send", "1")  # nothing left to send: the limit is asked all the same
    second = remiss(
        "round", "start", str(EXAMPLE_CASE), "--deadline", deadline, "--till", "socialnamnden",
        "--ny-omgang",
    )  # fmt: skip

    assert again.returncode == 0, again.stdout + again.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert "upptagna" not in second.stdout + second.stderr
