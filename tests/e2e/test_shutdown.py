"""Every long-running command stops whole on SIGTERM, SIGINT and SIGHUP (issue 18).

systemd and Docker stop a service with SIGTERM, a closed terminal sends SIGHUP, Ctrl-C
SIGINT. Each command runs as an operator runs it, a real process; the signal goes to that
process only (as Docker sends it to its PID 1), once it is busy: `remiss portal` handing an
answer to its flow (which starts Prefect's temporary server), `remiss round start` sending
through a mail server that stopped answering (its temporary server up as well), and
`remiss up` with its Prefect server, deployments and portal. Afterwards no process that
carries the command's environment is left (none re-parented to PID 1 either), and every
port its tree listened on is free.

The commands run side by side, to keep the suite short.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from remiss.cli.stopping import Proc, descendants
from remiss.core.dates import utcnow
from remiss.core.settings import load_settings
from remiss.rounds import start as rounds_start
from tests.conftest import EXAMPLE_CASE, ROOT, future_deadline
from tests.e2e.conftest import REMISS
from tests.support.documents import pdf_bytes
from tests.support.net import answers_ok, free_port
from tests.support.rounds import start_and_send

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Command:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[Command], bool]
    stopped_code: int  # the exit code after a stop signal
    process: subprocess.Popen[bytes] | None = None
    tree: list[Proc] = field(default_factory=list)
    ports: set[int] = field(default_factory=set)

    @property
    def marker(self) -> str:
        """In the command's environment, so in that of everything it starts."""
        return f"REMISS_DATA_DIR={self.env['REMISS_DATA_DIR']}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(REMISS), *self.args],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def listening(self) -> set[int]:
        return listening_ports([self.pid, *(pid for pid, _ in descendants(self.pid))])

    def is_ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"{self.name} ended early:\n{self.output()}"
        return self.ready(self)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def listening_ports(pids: list[int]) -> set[int]:
    """The TCP ports on which any of `pids` listens, from /proc."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
    return {port for port, inode in _listeners() if inode in inodes}


def _listeners() -> list[tuple[int, str]]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A":  # LISTEN
                    found.append((int(cols[1].rsplit(":", 1)[1], 16), cols[9]))
    return found


def carrying(marker: str) -> list[str]:
    """Every process whose environment holds `marker`: the command's, wherever it went."""
    found = []
    needle = marker.encode() + b"\0"
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if needle in environ.read_bytes() + b"\0":
                cmdline = (environ.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"{environ.parent.name}: {cmdline.decode(errors='replace')[:160]}")
    return found


def alive(proc: Proc) -> bool:
    try:
        fields = Path(f"/proc/{proc[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X") and int(fields[19]) == proc[1]


def temporary_server_up(command: Command) -> bool:
    """A process below the command listens: Prefect's temporary server."""
    return any(pid != command.pid for pid, _ in descendants(command.pid)) and bool(
        listening_ports([pid for pid, _ in descendants(command.pid)])
    )


@pytest.fixture(scope="module")
def up_prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Its own (no other server uses its SQLite database), migrated once for the module.
    return tmp_path_factory.mktemp("prefect-home-up")


@pytest.fixture
def commands(
    cli_env: dict[str, str], tmp_path: Path, up_prefect_home: Path
) -> Iterator[Callable[..., dict[str, Command]]]:
    made: list[Command] = []

    def env_for(name: str) -> dict[str, str]:
        return {**cli_env, "REMISS_DATA_DIR": str(tmp_path / name / "data")}

    def make(*names: str) -> dict[str, Command]:
        # A sender whose mail server takes seconds per message: stopped mid-send, it lets the
        # sends in flight finish (and be marked) and starts no more.
        sender_env = {
            **env_for("sender"),
            "REMISS_TEST_SEND_DELAY_MS": "3000",
            "REMISS_TEST_BATCH_SIZE": "1",
            # A Prefect home of its own: the shared one may still hold mail slots leased by a
            # process an earlier test killed (they expire after 75 s), and a sender waiting
            # for a slot writes nothing to stop it in the middle of.
            "PREFECT_HOME": str(tmp_path / "sender-prefect"),
        }
        sender_settings = load_settings(sender_env)
        rounds_start.init(sender_settings, now=utcnow())
        outbox = sender_settings.outbox_dir
        sender = Command(
            "round start",
            ["round", "start", str(EXAMPLE_CASE), "--deadline", future_deadline().isoformat()],
            sender_env,
            tmp_path / "sender.log",
            lambda c: any(outbox.glob("*.eml")) and temporary_server_up(c),
            stopped_code=-1,  # 128 + the signal, set by the test
        )

        # The portal, with a round whose answer page an official fills in.
        port = free_port()
        # Its own Prefect home too: the kvittens it sends needs a mail slot (see the sender).
        portal_env = {
            **env_for("portal"),
            "REMISS_BASE_URL": f"http://127.0.0.1:{port}",
            "PREFECT_HOME": str(tmp_path / "portal-prefect"),
        }
        tokens = start_and_send(load_settings(portal_env), EXAMPLE_CASE, ["socialnamnden", "kpr"])
        answered: list[bool] = []

        def portal_ready(c: Command) -> bool:
            if not answered:
                if not answers_ok(f"http://127.0.0.1:{port}/"):
                    return False
                answer(f"http://127.0.0.1:{port}", tokens["kpr"])
                answered.append(True)
            return temporary_server_up(c)

        portal = Command(
            "portal",
            ["portal", "--port", str(port)],
            portal_env,
            tmp_path / "portal.log",
            portal_ready,
            stopped_code=0,
        )

        # The whole service, with a Prefect server of its own.
        up_env = {**env_for("up"), "PREFECT_HOME": str(up_prefect_home)}
        ui_port, up_port = free_port(), free_port()
        up = Command(
            "up",
            ["up", "--ui-port", str(ui_port), "--port", str(up_port)],
            up_env,
            tmp_path / "up.log",
            lambda c: (
                answers_ok(f"http://127.0.0.1:{ui_port}/api/health")
                and answers_ok(f"http://127.0.0.1:{up_port}/")
                and len(descendants(c.pid)) >= 3
            ),
            stopped_code=0,
        )
        chosen = [c for c in (sender, portal, up) if not names or c.name in names]
        made.extend(chosen)
        return {c.name: c for c in chosen}

    yield make
    for command in made:  # whatever a failed test left
        if command.process is not None and command.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(command.pid, signal.SIGKILL)
        for line in carrying(command.marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)


def answer(url: str, token: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        page = client.get(f"/r/{token}")
        match = CSRF.search(page.text)
        assert match, page.text
        sent = client.post(
            f"/r/{token}/svar",
            data={
                "csrf": match.group(1),
                "stallningstagande": "tillstyrker",
                "sammanfattning": "Vi tillstyrker förslaget.",
            },
            files=[("filer", ("svar.pdf", pdf_bytes(), "application/pdf"))],
        )
        assert sent.status_code < 400, sent.text


def run_and_stop(commands: dict[str, Command], signals: list[signal.Signals]) -> None:
    """Start every command, wait until each is busy, send each the signals, and check that
    each stopped whole."""
    for command in commands.values():
        command.start()
    waiting = dict(commands)
    end = time.monotonic() + 150
    while waiting:
        assert time.monotonic() < end, f"not ready: {list(waiting)}"
        for name, command in list(waiting.items()):
            if command.is_ready():
                command.tree = descendants(command.pid)
                command.ports = command.listening()
                del waiting[name]
        time.sleep(0.3)

    for command in commands.values():
        os.kill(command.pid, signals[0])
    for sig in signals[1:]:
        time.sleep(0.2)  # the second lands while the command stops
        for command in commands.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(command.pid, sig)

    for command in commands.values():
        assert command.process is not None
        try:
            code = command.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command.name} did not stop:\n{command.output()}")
        expected = 128 + signals[-1] if len(signals) > 1 else command.stopped_code
        if expected < 0:
            expected = 128 + signals[0]
        assert code == expected, f"{command.name} exited {code}:\n{command.output()}"

    for command in commands.values():
        assert command.tree, f"{command.name} started nothing"
        assert command.ports, f"{command.name} listened nowhere"
        # A process that got its signal a moment ago may still be on its way out.
        give_up = time.monotonic() + 2
        while (left := carrying(command.marker)) and time.monotonic() < give_up:
            time.sleep(0.1)
        assert not left, f"{command.name} left behind: {left}"
        assert not [p for p in command.tree if alive(p)]
        busy = {port for port, _ in _listeners()} & command.ports
        assert not busy, f"{command.name} left ports {busy} listening"


@pytest.mark.parametrize(
    "sig",
    [
        pytest.param(signal.SIGTERM, id="SIGTERM"),
        pytest.param(signal.SIGINT, id="SIGINT"),
        pytest.param(signal.SIGHUP, id="SIGHUP"),
    ],
)
def test_a_stop_signal_leaves_no_process_and_no_listening_port_behind(
    commands: Callable[..., dict[str, Command]], sig: signal.Signals
) -> None:
    run_and_stop(commands(), [sig])


def test_a_second_signal_while_stopping_stops_at_once_and_still_leaves_nothing(
    commands: Callable[..., dict[str, Command]],
) -> None:
    # Exit code 143 (128 + SIGTERM) shows the second signal cut the stop short; `remiss up`
    # takes the same path (remiss.cli.stopping.hurry) and is left out to save time.
    run_and_stop(commands("round start", "portal"), [signal.SIGINT, signal.SIGTERM])


def test_a_portal_killed_with_sigkill_leaves_no_temporary_prefect_server(
    commands: Callable[..., dict[str, Command]],
) -> None:
    # The portal starts its temporary server from its job thread, for the answer's flow:
    # the server watches its parent, since the parent-death signal would follow the thread.
    portal = commands("portal")["portal"]
    portal.start()
    end = time.monotonic() + 150
    while not portal.is_ready():
        assert time.monotonic() < end, f"not ready:\n{portal.output()}"
        time.sleep(0.3)
    servers = [p for p in descendants(portal.pid) if alive(p)]
    assert servers, "the portal started no temporary server"

    os.kill(portal.pid, signal.SIGKILL)  # the portal alone, not its process group
    assert portal.process is not None
    portal.process.wait(timeout=10)

    give_up = time.monotonic() + 15
    while (left := carrying(portal.marker)) and time.monotonic() < give_up:
        time.sleep(0.2)
    assert not left, f"left running after kill -9 of the portal: {left}"


STUCK = """
import subprocess, sys, threading, time
from remiss.cli import stopping
stopping.STOP_SECONDS = 1.0
stopping.install()
child = subprocess.Popen(["sleep", "120"])
print(child.pid, flush=True)
# A thread that never ends (a send to a mail server that does not answer): the interpreter
# would wait for it for ever before its atexit handlers.
threading.Thread(target=time.sleep, args=(3600,)).start()
time.sleep(3600)
"""


def test_a_stop_that_hangs_ends_after_its_time_with_everything_it_started(
    cli_env: dict[str, str],
) -> None:
    stuck = subprocess.Popen(
        [sys.executable, "-c", STUCK],
        env=cli_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert stuck.stdout is not None
        child = int(stuck.stdout.readline())
        (proc,) = descendants(stuck.pid)
        assert proc[0] == child
        os.kill(stuck.pid, signal.SIGTERM)
        # Within the limit, by the watchdog (143) or, when the interpreter's exit wins the
        # race with it, by the uncaught stop (1); either way nothing it started is left.
        assert stuck.wait(timeout=15) in (1, 128 + signal.SIGTERM)
        assert not alive(proc)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stuck.pid, signal.SIGKILL)
        stuck.wait()
