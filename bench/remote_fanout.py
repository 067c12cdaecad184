"""What `ews_fanout.py` and `graph_fanout.py` share: a mail test server in a process of its
own, a round sent through it by a plain loop (B) and by the Prefect flow (F), and the check
that every message went out exactly once.

The server runs apart, as Exchange would: in the client's process it would compete for the
interpreter lock and slow both. Its script prints one JSON line with what the client needs
(its URL and so on), then answers each line on its standard input with the sent keys and
the number of calls it took, as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fanout import (  # noqa: E402  (bench/ is the script's folder)
    BenchError,
    World,
    build_world,
    configure,
    machine,
    prefect_server,
    prepare_prefect,
    working_day_ahead,
)

from remiss.core.dates import utcnow  # noqa: E402
from remiss.core.settings import Settings, load_settings  # noqa: E402
from remiss.mail import Mailer  # noqa: E402
from remiss.outbox.sending import send_batch  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402

SENDER = "remiss@stockholm.example"


class RemoteServer:
    """A mail test server in a child process (see the module docstring)."""

    def __init__(self, script: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())

    def state(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        return result

    def check(self, n: int, label: str) -> tuple[int, float]:
        """The calls the round took and the server's own time in them (0 if it does not
        say); fails unless each of the n messages went out once."""
        state = self.state()
        keys = Counter(state["keys"])
        if len(keys) != n or set(keys.values()) != {1}:
            raise BenchError(f"{label}, N={n}: {sum(keys.values())} sent for {len(keys)} keys")
        return int(state["calls"]), float(state.get("server_s", 0.0))

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclass(frozen=True)
class Backend:
    """One mail backend as the benchmark drives it."""

    name: str  # in the printed heading: "EWS", "Graph"
    script: Callable[[float], str]  # the server's script for a latency per call
    environment: Callable[[dict[str, Any]], dict[str, str]]  # settings from the server's info
    mailer: Callable[[Settings], Mailer]
    forget: Callable[[], None]  # the backend's per-process connections or tokens


def configure_backend(
    backend: Backend, world: World, data_dir: Path, server: RemoteServer
) -> Settings:
    configure(world, data_dir)
    os.environ.update(backend.environment(server.info))
    backend.forget()
    settings = load_settings()
    rounds_start.init(settings, now=utcnow())
    return settings


def send_round(settings: Settings, world: World, mailer: Mailer) -> list[int]:
    """Prepare the round and send it in batches, each message tried once: the ids not sent."""
    round_id = rounds_start.prepare_round(
        settings, world.case, now=utcnow(), to=None, deadline=world.deadline
    )
    ids = rounds_start.pending_missiv(settings, round_id)
    unsent = []
    for i in range(0, len(ids), mailer.batch_size):
        batch = ids[i : i + mailer.batch_size]
        outcomes = send_batch(batch, settings=settings, mailer=mailer, now=utcnow())
        unsent += [m for m, o in zip(batch, outcomes, strict=True) if o.result == "unsent"]
    return unsent


def loop(backend: Backend, world: World, data_dir: Path, server: RemoteServer) -> float:
    settings = configure_backend(backend, world, data_dir, server)
    mailer = backend.mailer(settings)
    start = time.perf_counter()
    send_round(settings, world, mailer)
    return time.perf_counter() - start


def flow(backend: Backend, world: World, data_dir: Path, server: RemoteServer) -> float:
    from flows.start_round import start_round

    configure_backend(backend, world, data_dir, server)
    start = time.perf_counter()
    start_round(str(world.case), deadline=world.deadline)
    return time.perf_counter() - start


Method = Callable[[Backend, World, Path, RemoteServer], float]


def measure(
    backend: Backend, method: Method, world: World, root: Path, latency: float, label: str
) -> tuple[float, int, float]:
    """Seconds, calls, and the server's own seconds (see RemoteServer.check)."""
    server = RemoteServer(backend.script(latency))
    try:
        seconds = method(backend, world, Path(tempfile.mkdtemp(dir=root)), server)
        return (seconds, *server.check(world.n, label))
    finally:
        server.stop()


def loop_and_flow(
    backend: Backend, sizes: list[int], latency: float, repeat: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """B and F for each size (after an untimed warm-up of each): the rows and the info."""
    root = Path(tempfile.mkdtemp(prefix=f"remiss-bench-{backend.name.lower()}-"))
    prepare_prefect(root / "prefect", quiet=True)
    deadline = working_day_ahead(6)
    worlds = {n: build_world(root, n, deadline) for n in [5, *sizes]}
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    with prefect_server(timings):
        measure(backend, loop, worlds[5], root, latency, "warm-up")
        measure(backend, flow, worlds[5], root, latency, "warm-up")
        for n in sizes:
            b = [measure(backend, loop, worlds[n], root, latency, "B") for _ in range(repeat)]
            f = [measure(backend, flow, worlds[n], root, latency, "F") for _ in range(repeat)]
            b_s = statistics.median(s for s, _, _ in b)
            f_s = statistics.median(s for s, _, _ in f)
            server_s = statistics.median(busy for _, _, busy in b)
            rows.append(
                {
                    "n": n,
                    "baseline_s": round(b_s, 3),
                    "server_s": round(server_s, 3),
                    "ours_s": round(b_s - server_s, 3),
                    "prefect_s": round(f_s, 3),
                    "overhead_s": round(f_s - b_s, 3),
                    "ratio": round(f_s / b_s, 2),
                    "calls": f[0][1],
                }
            )
    print(
        f"\nFan-out through {backend.name} at {latency * 1000:.0f} ms per call "
        f"(Prefect's server started in {timings['server_startup_s']:.1f} s, not counted)\n"
    )
    print(
        f"{'N':>6} {'B loop s':>9} {'server s':>9} {'B-server':>9} {'F Prefect s':>12} "
        f"{'overhead s':>11} {'F/B':>6} {'calls':>6}"
    )
    for r in rows:
        print(
            f"{r['n']:>6} {r['baseline_s']:>9.2f} {r['server_s']:>9.2f} {r['ours_s']:>9.2f} "
            f"{r['prefect_s']:>12.2f} {r['overhead_s']:>11.2f} {r['ratio']:>6.2f} {r['calls']:>6}"
        )
    print(
        "\nserver s: the test server's own work in B's calls (parsing, storing, answering),"
        "\nbeyond the set latency; B-server is what this product spends.",
    )
    return rows, {"latency_s": latency, "machine": machine(), **timings}


def write_json(path: Path | None, info: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    if path is not None:
        path.write_text(json.dumps({"info": info, "rows": rows}, indent=2))
