"""Fan-out through Exchange: a round to N remissinstanser sent through the EWS test server
(tests/support/ews_server.py) with a set latency per EWS call, by the real exchangelib.

For each N, in fresh SQLite data folders and a fresh EWS server each time:

  B  baseline loop   rounds_start.prepare_round, then a plain Python loop calling
                     sending.send_batch for each batch of ews_batch_size (100): the same
                     claims, rendering, CreateItem calls and marks, without Prefect.
  F  Prefect flow    flows.start_round.start_round: the same work through Prefect (one
                     task per batch), on Prefect's temporary local server.

Prefect's overhead is F - B (seconds) and F / B. The server's start-up is excluded; an
untimed warm-up of each method runs first. After each measurement the EWS server's log
must hold exactly N sent messages, each key once, or the script fails: a figure for a
round that did not go out would mean nothing.

    .venv/bin/python bench/ews_fanout.py                       # 50,300,1000 at 50 ms
    .venv/bin/python bench/ews_fanout.py --sizes 50 --latency 0.02 --json out.json
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
from remiss.mail.exchange import ExchangeMailer, clear_connections  # noqa: E402
from remiss.outbox.sending import send_batch  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402

SENDER = "remiss@stockholm.example"
KEY = "RemissIdempotencyKey"


def exchange(world: World, data_dir: Path, ews: RemoteEws) -> Settings:
    configure(world, data_dir)
    os.environ.update(
        {
            "REMISS_MAIL_BACKEND": "exchange",
            "REMISS_EWS_URL": ews.url,
            "REMISS_EWS_AUTH": "basic",
            "REMISS_EWS_USERNAME": "bench",
            "REMISS_EWS_SECRET": "bench-pw",
        }
    )
    clear_connections()
    from remiss.core.settings import load_settings

    settings = load_settings()
    rounds_start.init(settings, now=utcnow())
    return settings


# The EWS server runs in a process of its own, as Exchange would: in this one it would
# compete with the client for the interpreter lock and slow both.
SERVER = """
import json, sys
from collections import Counter
from tests.support.ews_server import EwsServer, Rights
ews = EwsServer({"bench": "bench-pw"}, {"bench": Rights(delegate=[%(sender)r])}).start()
ews.latency = %(latency)r
print(ews.url, flush=True)
for line in sys.stdin:
    keys = Counter(str(m.extended_properties.get(%(key)r)) for m in ews.sent_log)
    print(json.dumps({"keys": keys, "create_item": ews.calls.count("CreateItem")}), flush=True)
ews.stop()
"""


class RemoteEws:
    def __init__(self, latency: float) -> None:
        script = SERVER % {"sender": SENDER, "latency": latency, "key": KEY}
        self.process = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

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


def server(latency: float) -> RemoteEws:
    return RemoteEws(latency)


def check(ews: RemoteEws, n: int, label: str) -> int:
    state = ews.state()
    keys = Counter(state["keys"])
    if len(keys) != n or set(keys.values()) != {1}:
        raise BenchError(f"{label}, N={n}: {sum(keys.values())} sent for {len(keys)} keys")
    return int(state["create_item"])


def loop(world: World, data_dir: Path, ews: RemoteEws) -> float:
    settings = exchange(world, data_dir, ews)
    mailer = ExchangeMailer(settings)
    start = time.perf_counter()
    round_id = rounds_start.prepare_round(
        settings, world.case, now=utcnow(), to=None, deadline=world.deadline
    )
    ids = rounds_start.pending_missiv(settings, round_id)
    for i in range(0, len(ids), mailer.batch_size):
        send_batch(ids[i : i + mailer.batch_size], settings=settings, mailer=mailer, now=utcnow())
    return time.perf_counter() - start


def flow(world: World, data_dir: Path, ews: RemoteEws) -> float:
    from flows.start_round import start_round

    exchange(world, data_dir, ews)
    start = time.perf_counter()
    start_round(str(world.case), deadline=world.deadline)
    return time.perf_counter() - start


def measure(
    method: Callable[[World, Path, RemoteEws], float],
    world: World,
    root: Path,
    latency: float,
    label: str,
) -> tuple[float, int]:
    ews = server(latency)
    try:
        seconds = method(world, Path(tempfile.mkdtemp(dir=root)), ews)
        return seconds, check(ews, world.n, label)
    finally:
        ews.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,300,1000")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per EWS call")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="remiss-bench-ews-"))
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
                    "create_item_calls": f[0][1],
                }
            )
    print(
        f"\nFan-out through EWS at {args.latency * 1000:.0f} ms per call "
        f"(Prefect's server started in {timings['server_startup_s']:.1f} s, not counted)\n"
    )
    print(
        f"{'N':>6} {'B loop s':>9} {'F Prefect s':>12} {'overhead s':>11} {'F/B':>6} {'calls':>6}"
    )
    for r in rows:
        print(
            f"{r['n']:>6} {r['baseline_s']:>9.2f} {r['prefect_s']:>12.2f} "
            f"{r['overhead_s']:>11.2f} {r['ratio']:>6.2f} {r['create_item_calls']:>6}"
        )
    if args.json:
        info = {"latency_s": args.latency, "machine": machine(), **timings}
        args.json.write_text(json.dumps({"info": info, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
