"""Fan-out through Microsoft Graph: a round to N remissinstanser sent through the Graph test
server (tests/support/graph_server.py) with a set latency per call, by the real msal and
remiss.mail.graph (a draft and a send per message, one request at a time per batch).

For each N, in fresh SQLite data folders and a fresh Graph server each time:

  B  baseline loop   rounds_start.prepare_round, then a plain Python loop calling
                     sending.send_batch for each batch of graph_batch_size (20): the same
                     claims, rendering, Graph calls and marks, without Prefect.
  F  Prefect flow    flows.start_round.start_round: the same work through Prefect (one
                     task per batch), on Prefect's temporary local server.

Prefect's overhead is F - B (seconds) and F / B. The server's start-up is excluded; an
untimed warm-up of each method runs first. After each measurement the Graph server's log
must hold exactly N sent messages, each key once, or the script fails: a figure for a
round that did not go out would mean nothing.

    .venv/bin/python bench/graph_fanout.py                     # 50,300 at 50 ms
    .venv/bin/python bench/graph_fanout.py --sizes 50 --latency 0.02 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
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
from remiss.core.settings import Settings  # noqa: E402
from remiss.mail.graph import GraphMailer, clear_tokens  # noqa: E402
from remiss.outbox.sending import send_batch  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402

SENDER = "remiss@stockholm.example"


def configure_graph(world: World, data_dir: Path, graph: RemoteGraph) -> Settings:
    configure(world, data_dir)
    os.environ.update(
        {
            "REMISS_MAIL_BACKEND": "graph",
            "REMISS_GRAPH_URL": graph.url,
            "REMISS_GRAPH_AUTHORITY": graph.authority,
            "REMISS_GRAPH_TENANT_ID": graph.tenant,
            "REMISS_GRAPH_CLIENT_ID": "bench",
            "REMISS_GRAPH_CA_FILE": graph.ca_file,
            "REMISS_GRAPH_SECRET": "bench-pw",
        }
    )
    clear_tokens()
    from remiss.core.settings import load_settings

    settings = load_settings()
    rounds_start.init(settings, now=utcnow())
    return settings


# The Graph server runs in a process of its own, as Graph would: in this one it would
# compete with the client for the interpreter lock and slow both.
SERVER = """
import json, sys
from collections import Counter
from tests.support.graph_server import App, GraphServer
graph = GraphServer({"bench": App("bench-pw")}, mailboxes=[%(sender)r]).start()
graph.latency = %(latency)r
print(json.dumps([graph.url, graph.authority, graph.tenant, str(graph.ca_file)]), flush=True)
for line in sys.stdin:
    keys = Counter(str(m.key) for m in graph.sent_log)
    calls = len(graph.calls) - graph.calls.count("token")
    print(json.dumps({"keys": keys, "calls": calls}), flush=True)
graph.stop()
"""


class RemoteGraph:
    def __init__(self, latency: float) -> None:
        script = SERVER % {"sender": SENDER, "latency": latency}
        self.process = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert self.process.stdout is not None
        self.url, self.authority, self.tenant, self.ca_file = json.loads(
            self.process.stdout.readline()
        )

    def state(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        return result

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def server(latency: float) -> RemoteGraph:
    return RemoteGraph(latency)


def check(graph: RemoteGraph, n: int, label: str) -> int:
    state = graph.state()
    keys = Counter(state["keys"])
    if len(keys) != n or set(keys.values()) != {1}:
        raise BenchError(f"{label}, N={n}: {sum(keys.values())} sent for {len(keys)} keys")
    return int(state["calls"])


def loop(world: World, data_dir: Path, graph: RemoteGraph) -> float:
    settings = configure_graph(world, data_dir, graph)
    mailer = GraphMailer(settings)
    start = time.perf_counter()
    round_id = rounds_start.prepare_round(
        settings, world.case, now=utcnow(), to=None, deadline=world.deadline
    )
    ids = rounds_start.pending_missiv(settings, round_id)
    for i in range(0, len(ids), mailer.batch_size):
        send_batch(ids[i : i + mailer.batch_size], settings=settings, mailer=mailer, now=utcnow())
    return time.perf_counter() - start


def flow(world: World, data_dir: Path, graph: RemoteGraph) -> float:
    from flows.start_round import start_round

    configure_graph(world, data_dir, graph)
    start = time.perf_counter()
    start_round(str(world.case), deadline=world.deadline)
    return time.perf_counter() - start


def measure(
    method: Callable[[World, Path, RemoteGraph], float],
    world: World,
    root: Path,
    latency: float,
    label: str,
) -> tuple[float, int]:
    graph = server(latency)
    try:
        seconds = method(world, Path(tempfile.mkdtemp(dir=root)), graph)
        return seconds, check(graph, world.n, label)
    finally:
        graph.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,300")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Graph call")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="remiss-bench-graph-"))
    prepare_prefect(root / "prefect", quiet=True)
    deadline = working_day_ahead(6)
    worlds = {n: build_world(root, n, deadline) for n in [5, *sizes]}
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    with prefect_server(timings):
        measure(loop, worlds[5], root, args.latency, "warm-up")
        measure(flow, worlds[5], root, args.latency, "warm-up")
        for n in sizes:
            b = [measure(loop, worlds[n], root, args.latency, "B") for _ in range(args.repeat)]
            f = [measure(flow, worlds[n], root, args.latency, "F") for _ in range(args.repeat)]
            b_s = statistics.median(s for s, _ in b)
            f_s = statistics.median(s for s, _ in f)
            rows.append(
                {
                    "n": n,
                    "baseline_s": round(b_s, 3),
                    "prefect_s": round(f_s, 3),
                    "overhead_s": round(f_s - b_s, 3),
                    "ratio": round(f_s / b_s, 2),
                    "graph_calls": f[0][1],
                }
            )
    print(
        f"\nFan-out through Graph at {args.latency * 1000:.0f} ms per call "
        f"(Prefect's server started in {timings['server_startup_s']:.1f} s, not counted)\n"
    )
    print(
        f"{'N':>6} {'B loop s':>9} {'F Prefect s':>12} {'overhead s':>11} {'F/B':>6} {'calls':>6}"
    )
    for r in rows:
        print(
            f"{r['n']:>6} {r['baseline_s']:>9.2f} {r['prefect_s']:>12.2f} "
            f"{r['overhead_s']:>11.2f} {r['ratio']:>6.2f} {r['graph_calls']:>6}"
        )
    if args.json:
        info = {"latency_s": args.latency, "machine": machine(), **timings}
        args.json.write_text(json.dumps({"info": info, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
