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
import sys
from pathlib import Path
from typing import Any

from remote_fanout import SENDER, Backend, loop_and_flow, write_json

from remiss.core.settings import Settings
from remiss.mail import Mailer
from remiss.mail.exchange import ExchangeMailer, clear_connections

SERVER = """
import json, sys, time
from collections import Counter
from tests.support.ews_server import EwsServer, Rights
# The test server's own work per call (parsing, storing, answering; not the set latency):
# what a real Exchange would spend is not ours to measure, so the bench prints it apart.
busy = [0.0]
serve = EwsServer._serve
def timed(self, handler):
    start = time.perf_counter()
    try:
        serve(self, handler)
    finally:
        busy[0] += time.perf_counter() - start - self.latency
EwsServer._serve = timed
ews = EwsServer({"bench": "bench-pw"}, {"bench": Rights(delegate=[%(sender)r])}).start()
ews.latency = %(latency)r
print(json.dumps({"url": ews.url}), flush=True)
for line in sys.stdin:
    keys = Counter(str(m.extended_properties.get("RemissIdempotencyKey")) for m in ews.sent_log)
    calls = ews.calls.count("CreateItem")
    print(json.dumps({"keys": keys, "calls": calls, "server_s": busy[0]}), flush=True)
ews.stop()
"""


def environment(info: dict[str, Any]) -> dict[str, str]:
    return {
        "REMISS_MAIL_BACKEND": "exchange",
        "REMISS_EWS_URL": info["url"],
        "REMISS_EWS_AUTH": "basic",
        "REMISS_EWS_USERNAME": "bench",
        "REMISS_EWS_SECRET": "bench-pw",
    }


def mailer(settings: Settings) -> Mailer:
    return ExchangeMailer(settings)


EWS = Backend(
    name="EWS",
    script=lambda latency: SERVER % {"sender": SENDER, "latency": latency},
    environment=environment,
    mailer=mailer,
    forget=clear_connections,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,300,1000")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per EWS call")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, info = loop_and_flow(EWS, sizes, args.latency, args.repeat)
    write_json(args.json, info, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
