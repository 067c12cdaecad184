"""Fan-out through Microsoft Graph: a round to N remissinstanser sent through the Graph test
server (tests/support/graph_server.py, HTTPS on loopback) with a set latency per call, by
the real msal and remiss.mail.graph (drafts made in one $batch and sent in another, 20
messages at a time).

For each N, in fresh SQLite data folders and a fresh Graph server each time:

  B  baseline loop   rounds_start.prepare_round, then a plain Python loop calling
                     sending.send_batch for each batch of graph_batch_size (20): the same
                     claims, rendering, Graph calls and marks, without Prefect.
  F  Prefect flow    flows.start_round.start_round: the same work through Prefect (one
                     task per batch), on Prefect's temporary local server.

Prefect's overhead is F - B (seconds) and F / B. After each measurement the Graph server's
log must hold exactly N sent messages, each key once, or the script fails.

`--compare` measures the three ways to send through Graph on the same round, without and
with faults (a share of calls failing, timeouts after the server did the work included):
the drafts in $batch (what remiss does), the drafts one request at a time, and `sendMail`
(one call per message, its copy reaching Sent Items only after `--copy-delay` seconds, as
in Exchange Online). Every message is tried again until all are sent, each retry first
asking Sent Items (`find_sent`), as the send task does. It prints the time to all sent,
the calls and the messages that went out twice; the drafts must never send one twice.

    .venv/bin/python bench/graph_fanout.py                     # 50,300 at 50 ms
    .venv/bin/python bench/graph_fanout.py --compare --sizes 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fanout import BenchError, build_world, working_day_ahead
from remote_fanout import (
    SENDER,
    Backend,
    RemoteServer,
    configure_backend,
    loop_and_flow,
    send_round,
    write_json,
)

from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.mail import Mailer, MailError, OutgoingEmail
from remiss.mail.base import send_one_by_one
from remiss.mail.graph import GraphMailer, clear_tokens
from remiss.outbox.sending import send_batch

SERVER = """
import json, sys
from collections import Counter
from tests.support.graph_server import App, GraphServer
graph = GraphServer({"bench": App("bench-pw")}, mailboxes=[%(sender)r]).start()
graph.latency = %(latency)r
graph.sent_copy_delay = %(copy_delay)r
if %(rate)r:
    graph.fail_rate(%(rate)r, seed=20261207, retry_after=0.05, hang=1.2)
print(json.dumps({"url": graph.url, "authority": graph.authority, "tenant": graph.tenant,
                  "ca_file": str(graph.ca_file)}), flush=True)
for line in sys.stdin:
    keys = Counter(str(m.key) for m in graph.sent_log)
    print(json.dumps({"keys": keys, "calls": graph.http_requests}), flush=True)
graph.stop()
"""


def environment(info: dict[str, Any]) -> dict[str, str]:
    return {
        "REMISS_MAIL_BACKEND": "graph",
        "REMISS_GRAPH_URL": info["url"],
        "REMISS_GRAPH_AUTHORITY": info["authority"],
        "REMISS_GRAPH_TENANT_ID": info["tenant"],
        "REMISS_GRAPH_CLIENT_ID": "bench",
        "REMISS_GRAPH_CA_FILE": info["ca_file"],
        "REMISS_GRAPH_SECRET": "bench-pw",
        # A timeout after the server did the work costs this much each.
        "REMISS_EWS_TIMEOUT_SECONDS": "1",
    }


def backend(
    mailer: Callable[[Settings], Mailer], *, rate: float = 0.0, copy_delay: float = 0.0
) -> Backend:
    def script(latency: float) -> str:
        values = {"sender": SENDER, "latency": latency, "rate": rate, "copy_delay": copy_delay}
        return SERVER % values

    return Backend("Graph", script, environment, mailer, clear_tokens)


class OneByOne(GraphMailer):
    """The drafts, one request at a time: a draft and a send per message."""

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]:
        return send_one_by_one(self.send, messages)


class SendMail(GraphMailer):
    """sendMail: one call per message, which answers 202 with nothing to identify it; after
    an ambiguous failure find_sent looks for the key in the mailbox, as for the drafts."""

    def send(self, message: OutgoingEmail) -> str:
        body = {"message": self.draft(message)["body"], "saveToSentItems": True}
        self._refused(
            self.client.check(self.client.request("POST", "/sendMail", body=body), "skicka")
        )
        return message.message_id

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]:
        return send_one_by_one(self.send, messages)


WAYS: dict[str, Callable[[Settings], Mailer]] = {
    "drafts in $batch": GraphMailer,
    "drafts one by one": OneByOne,
    "sendMail": SendMail,
}


def until_sent(way: Backend, n: int, latency: float, root: Path) -> dict[str, Any]:
    """Send a round of n and try again what failed until all is sent: time, calls, twice."""
    world = build_world(Path(tempfile.mkdtemp(dir=root)), n, working_day_ahead(6))
    server = RemoteServer(way.script(latency))
    try:
        settings = configure_backend(way, world, Path(tempfile.mkdtemp(dir=root)), server)
        mailer = way.mailer(settings)
        start = time.perf_counter()
        unsent = send_round(settings, world, mailer)
        passes = 2 * n  # each pass tries up to a batch; at 30 % faults most succeed
        for _ in range(passes):
            if not unsent:
                break
            outcomes = send_batch(
                unsent[: mailer.batch_size], settings=settings, mailer=mailer, now=utcnow()
            )
            done = {m for m, o in zip(unsent, outcomes, strict=False) if o.result != "unsent"}
            unsent = [m for m in unsent if m not in done]
        seconds = time.perf_counter() - start
        if unsent:
            raise BenchError(f"{len(unsent)} of {n} still unsent after {passes} passes")
        state = server.state()
    finally:
        server.stop()
    keys = Counter(state["keys"])
    if len(keys) != n:
        raise BenchError(f"{len(keys)} of {n} keys went out")
    return {"seconds": round(seconds, 2), "calls": state["calls"], "twice": sum(keys.values()) - n}


def compare(
    sizes: list[int], latency: float, rate: float, copy_delay: float
) -> list[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="remiss-bench-graph-ways-"))
    rows = []
    for n in sizes:
        for name, mailer in WAYS.items():
            calm = until_sent(backend(mailer, copy_delay=copy_delay), n, latency, root)
            faulty = until_sent(backend(mailer, rate=rate, copy_delay=copy_delay), n, latency, root)
            if name != "sendMail" and faulty["twice"]:
                raise BenchError(f"{name}: {faulty['twice']} messages went out twice")
            rows.append({"n": n, "way": name, "calm": calm, "faults": faulty})
    print(
        f"\nThree ways through Graph at {latency * 1000:.0f} ms per call; with faults "
        f"{rate:.0%} of the calls fail; sendMail's copy in Sent Items after {copy_delay:g} s\n"
    )
    print(
        f"{'N':>5} {'way':<18} {'calm s':>7} {'calls':>6} {'faults s':>9} {'calls':>6} {'twice':>6}"
    )
    for r in rows:
        c, f = r["calm"], r["faults"]
        print(
            f"{r['n']:>5} {r['way']:<18} {c['seconds']:>7.2f} {c['calls']:>6} "
            f"{f['seconds']:>9.2f} {f['calls']:>6} {f['twice']:>6}"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,300")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Graph call")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="the three ways to send")
    parser.add_argument("--rate", type=float, default=0.3, help="share of calls failing")
    parser.add_argument("--copy-delay", type=float, default=3.0, help="sendMail's copy, s")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.compare:
        rows = compare(sizes, args.latency, args.rate, args.copy_delay)
        info: dict[str, Any] = {"latency_s": args.latency, "rate": args.rate}
    else:
        rows, info = loop_and_flow(backend(GraphMailer), sizes, args.latency, args.repeat)
    write_json(args.json, info, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
