"""Stopping a command on SIGTERM, SIGHUP or SIGINT with nothing left behind.

systemd and Docker stop a service with SIGTERM, a closed terminal sends SIGHUP, Ctrl-C sends
SIGINT. Python's default for SIGTERM and SIGHUP ends the process at once, skipping `finally`
blocks and atexit handlers; and Prefect stops the temporary server that a command running a
flow starts (a child process, when PREFECT_API_URL is not set) from an atexit handler. So
`remiss portal` stopped with SIGTERM left that server running, re-parented to PID 1 and
still listening.

Here all three signals take the path of Ctrl-C: the first raises `Stopped` (a
KeyboardInterrupt) in the main thread, so Prefect marks the flow run, the command unwinds and
atexit stops the temporary server. Whatever the command started that still runs after that
is ended too (`_sweep`). A second signal while this goes on means "now": every process below
this one gets SIGTERM, a moment later SIGKILL, and the command exits at once (`hurry`); as
it does when the orderly stop takes longer than STOP_SECONDS (a send in flight to a mail
server that does not answer: the next run finds it, as after any crash).

The command is also a child subreaper (Linux), so that a process orphaned below it stays
below it instead of moving to PID 1, where no sweep would find it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import NoReturn

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_SECONDS = 30.0  # the orderly stop; well inside systemd's 90 s before its SIGKILL
GRACE_SECONDS = 5.0  # what a child gets after the orderly stop before SIGKILL
HURRY_SECONDS = 2.0  # the same after a second signal

_PR_SET_CHILD_SUBREAPER = 36

# A process as (pid, start time in clock ticks): a pid alone may be reused by then.
Proc = tuple[int, int]


class Stopped(KeyboardInterrupt):
    """A stop signal, raised where the main thread is, as Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_received: int | None = None
_watchdog: threading.Timer | None = None


def install() -> None:
    """Take SIGINT, SIGTERM and SIGHUP the orderly way; at the start of every command."""
    for sig in SIGNALS:
        signal.signal(sig, _handle)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # Registered before Prefect registers the temporary server's stop, so it runs after it.
    atexit.register(_sweep)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For a child's preexec_fn (Linux): SIGTERM when the thread that started it ends, so a
    service outlives no command, not even one killed with SIGKILL. Start children from the
    main thread: the signal follows the starting thread, not the process."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def received() -> int | None:
    """The stop signal this command got, if any."""
    return _received


def exit_code(code: int | str | None) -> int | str | None:
    """A command that a signal cut short exits 128 + the signal's number (130, 143, 129), as
    a shell reports it; one that finished anyway (a service that stopped as asked) keeps 0."""
    if _received is not None and code not in (0, None):
        return 128 + _received
    return code


def _handle(signum: int, _frame: FrameType | None) -> None:
    global _received
    if _received is not None or _prefect_stopping(signum):
        hurry(signum)
    _received = signum
    watch(signum)
    raise Stopped(signum)


def watch(signum: int) -> None:
    """The stop has begun: if it is not over in STOP_SECONDS, `hurry`."""
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Timer(STOP_SECONDS, hurry, args=(signum,))
        _watchdog.daemon = True
        _watchdog.start()


def _prefect_stopping(signum: int) -> bool:
    """Whether Prefect is already stopping a flow run on another signal.

    While a flow runs in the main thread, Prefect takes SIGTERM itself (it raises
    TerminationSignal, marks the run crashed, then sends the signal again for the handler
    it replaced: this one). So a signal that comes while that TerminationSignal is handled
    is a second one, unless it is that same signal sent again.
    """
    exc = sys.exc_info()[1]
    while exc is not None:
        if type(exc).__name__ == "TerminationSignal" and getattr(exc, "signal", signum) != signum:
            return True
        exc = exc.__context__
    return False


def hurry(signum: int) -> NoReturn:
    """A second stop signal: end every process below this one now, and exit."""
    end(descendants(), HURRY_SECONDS)
    os._exit(128 + signum)


def _sweep() -> None:
    if _received is not None:
        end(descendants(), GRACE_SECONDS)


def descendants(pid: int | None = None) -> list[Proc]:
    """Every live process below `pid` (this process), from /proc; empty elsewhere."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[Proc] = []
    todo = [os.getpid() if pid is None else pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if (proc := _identity(child)) is not None:
                found.append(proc)
    return found


def end(procs: Iterable[Proc], grace: float) -> None:
    """SIGTERM to each process still running; SIGKILL to those still there after `grace`."""
    procs = list(procs)
    for proc in procs:
        _signal(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    for proc in procs:
        _signal(proc, signal.SIGKILL)


def _stat(pid: int) -> list[str] | None:
    """/proc/pid/stat after the command name (state, ppid, …), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
    return text.rsplit(")", 1)[1].split()


def _identity(pid: int) -> Proc | None:
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):  # a zombie has ended; only its entry is left
        return None
    return pid, int(fields[19])  # field 22 of stat: the start time


def _alive(proc: Proc) -> bool:
    return _identity(proc[0]) == proc


def _signal(proc: Proc, sig: signal.Signals) -> None:
    if _alive(proc):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc[0], sig)
