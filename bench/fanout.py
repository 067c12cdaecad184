"""Fan-out benchmark: what does one Prefect task per remissinstans cost?

Three ways to send one remissmissiv to each of N remissinstanser, each timed with
time.perf_counter in a fresh SQLite data folder with the outbox mail backend:

  A  outbox only     N prebuilt OutgoingEmail objects written through OutboxMailer.send:
                     no database, no templates; the floor (MIME, write, fsync, rename).
  B  service loop    rounds_start.prepare_round, then a plain loop calling
                     sending.send_missiv for every pending dispatch (claim, render, send,
                     mark sent): the whole domain cost, without Prefect.
  F  Prefect flow    flows.start_round.start_round(case, deadline=...): the same work as B,
                     one Prefect task per dispatch (ThreadPoolTaskRunner, 4 threads).

The Prefect server is Prefect's temporary local one (no PREFECT_API_URL), started once
by prefect_test_harness() around all flow measurements; its start-up is timed and
printed but excluded. One untimed warm-up round of each method (--warmup, default 5
recipients) runs before the timed ones, so imports and first-run costs are excluded too.
A and B run for every size before the Prefect server starts, so its background
services do not compete with them for the CPU.

Besides the total, each measurement records when the last .eml was written (its mtime
against the wall clock at the start) and the CPU time of this process and of its child
processes (the Prefect server, read from /proc on Linux): the flow's total includes the
ends of its two flow runs, which wait for Prefect's heartbeat thread (see README.md).

This is a benchmark, not a test: it asserts nothing about time. It does fail loudly
when a measurement did not leave exactly N messages in the outbox and N claims marked
sent in the database.

    .venv/bin/python bench/fanout.py                  # sizes 50,200, median of 3
    .venv/bin/python bench/fanout.py --sizes 20,100 --repeat 1 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from remiss.core.dates import utcnow
from remiss.core.settings import Settings, load_settings
from remiss.db.engine import get_engine, session_scope
from remiss.db.models import Event, OutgoingMessage
from remiss.mail import Attachment, OutgoingEmail, load_mailer
from remiss.mail.outbox import OutboxMailer
from remiss.outbox.sending import send_missiv
from remiss.rounds import start as rounds_start

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.worlds import (  # noqa: E402
    EXAMPLE_PDF,
    World,
    address,
    build_world,
    working_day_ahead,
)

__all__ = ["World", "build_world", "working_day_ahead"]  # also used by the other benchmarks
METHODS = ("outbox", "loop", "flow")
SHORT = {"outbox": "A", "loop": "B", "flow": "flow"}
LABELS = {
    "outbox": "A outbox only",
    "loop": "B service loop",
    "flow": "F Prefect flow",
}


class BenchError(RuntimeError):
    """A measurement did not do what it should have: its figure would mean nothing."""


# --- the synthetic world --------------------------------------------------------------------


def configure(world: World, data_dir: Path) -> Settings:
    """Point the REMISS_* environment at this world and a fresh data folder.

    Set in os.environ, not only passed along: the flow's tasks call load_settings() themselves.
    """
    for var in [v for v in os.environ if v.startswith("REMISS_")]:
        del os.environ[var]
    os.environ.update(
        {
            "REMISS_DATA_DIR": str(data_dir),
            "REMISS_REGISTER": str(world.register),
            "REMISS_MAIL_BACKEND": "outbox",
            "REMISS_BASE_URL": "https://remiss.stockholm.example",
        }
    )
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{data_dir / 'remiss.db'}", settings.database_url
    return settings


# --- checks ---------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    last_message_s: float  # from the start until the last .eml was written (its mtime)
    eml_bytes: int
    cpu_s: float  # CPU time of this process (all its threads)
    child_cpu_s: float | None  # CPU time of child processes: the Prefect server
    retries: int = 0


def child_cpu_seconds() -> float | None:
    """CPU time used so far by this process's live children, from /proc (Linux only)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    me, tick, total = os.getpid(), os.sysconf("SC_CLK_TCK"), 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # ppid; then utime and stime in clock ticks
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Clock:
    """perf_counter for the figure; the wall clock to compare with file times; CPU times."""

    def __init__(self) -> None:
        self.wall = time.time()
        self.children = child_cpu_seconds()
        self.cpu = time.process_time()
        self.start = time.perf_counter()
        self.elapsed = 0.0
        self.cpu_s = 0.0
        self.child_cpu_s: float | None = None

    def stop(self) -> None:
        self.elapsed = time.perf_counter() - self.start
        self.cpu_s = time.process_time() - self.cpu
        children = child_cpu_seconds()
        if children is not None and self.children is not None:
            self.child_cpu_s = children - self.children


@dataclass(frozen=True)
class Outbox:
    mean_bytes: int
    last_mtime: float


def check_outbox(settings: Settings, n: int, label: str) -> Outbox:
    """Exactly N finished .eml files and nothing else."""
    entries = sorted(settings.outbox_dir.iterdir()) if settings.outbox_dir.is_dir() else []
    eml = [p for p in entries if p.suffix == ".eml" and not p.name.startswith(".tmp-")]
    if len(eml) != n or len(entries) != n:
        raise BenchError(
            f"{label}, N={n}: the outbox {settings.outbox_dir} holds {len(eml)} messages "
            f"({len(entries)} files); expected exactly {n}"
        )
    stats = [p.stat() for p in eml]
    return Outbox(sum(st.st_size for st in stats) // n, max(st.st_mtime for st in stats))


def sample(clock: Clock, outbox: Outbox, retries: int = 0) -> Sample:
    return Sample(
        seconds=clock.elapsed,
        last_message_s=outbox.last_mtime - clock.wall,
        eml_bytes=outbox.mean_bytes,
        cpu_s=clock.cpu_s,
        child_cpu_s=clock.child_cpu_s,
        retries=retries,
    )


def check_database(settings: Settings, n: int, label: str) -> int:
    """Every claim is marked sent; returns how many sends were retried."""
    with session_scope(settings.database_url) as session:
        sent = session.scalar(
            select(func.count()).select_from(OutgoingMessage).where(OutgoingMessage.state == "sent")
        )
        total = session.scalar(select(func.count()).select_from(OutgoingMessage))
        retries = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "send_retry")
        )
    if sent != n or total != n:
        raise BenchError(f"{label}, N={n}: {sent} of {total} messages marked sent; expected {n}")
    return retries or 0


def release(settings: Settings) -> None:
    """Close the measurement's SQLite connections before its folder is deleted."""
    get_engine(settings.database_url).dispose()


# --- the three measurements -----------------------------------------------------------------


def prebuilt_messages(n: int) -> list[OutgoingEmail]:
    """Messages shaped like a remissmissiv (text, HTML, the PDF), built before the clock runs."""
    pdf = EXAMPLE_PDF.read_bytes()
    paragraph = (
        "Kommunstyrelsen remitterar ärendet till er för yttrande. Svaret ska ha kommit in "
        "senast den dag som anges i missivet. Använd er personliga länk för att svara. "
    )
    text = paragraph * 8
    html = "<html><body>" + f"<p>{paragraph}</p>" * 8 + "</body></html>"
    return [
        OutgoingEmail(
            idempotency_key=f"remiss-bench/instans_{i:04d}/missiv/0",
            to=(address(i),),
            subject=f"Remiss: Mätärende, KS 2026/999 (instans {i})",
            text=text,
            html=html,
            sender="remiss@stockholm.example",
            sender_name="Stadsledningskontoret",
            reply_to="remiss@stockholm.example",
            attachments=(Attachment("motion.pdf", "application/pdf", pdf),),
        )
        for i in range(1, n + 1)
    ]


def measure_outbox(world: World, data_dir: Path) -> Sample:
    settings = configure(world, data_dir)
    messages = prebuilt_messages(world.n)
    mailer = OutboxMailer(settings.outbox_dir)
    clock = Clock()
    for message in messages:
        mailer.send(message)
    clock.stop()
    return sample(clock, check_outbox(settings, world.n, LABELS["outbox"]))


def measure_loop(world: World, data_dir: Path) -> Sample:
    settings = configure(world, data_dir)
    rounds_start.init(settings, now=utcnow())
    mailer = load_mailer(settings)
    clock = Clock()
    round_id = rounds_start.prepare_round(
        settings, world.case, now=utcnow(), deadline=world.deadline
    )
    for dispatch_id in rounds_start.pending_sends(settings, round_id):
        outcome = send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
        if outcome.result != "sent":
            raise BenchError(f"dispatch {dispatch_id}: {outcome.result} {outcome.detail}")
    clock.stop()
    outbox = check_outbox(settings, world.n, LABELS["loop"])
    retries = check_database(settings, world.n, LABELS["loop"])
    release(settings)
    return sample(clock, outbox, retries)


def measure_flow(world: World, data_dir: Path) -> Sample:
    from flows.start_round import start_round  # imports Prefect: only after prepare_prefect()

    settings = configure(world, data_dir)
    rounds_start.init(settings, now=utcnow())
    clock = Clock()
    start_round(str(world.case), deadline=world.deadline)
    clock.stop()
    outbox = check_outbox(settings, world.n, LABELS["flow"])
    retries = check_database(settings, world.n, LABELS["flow"])
    release(settings)
    return sample(clock, outbox, retries)


MEASURE: dict[str, Callable[[World, Path], Sample]] = {
    "outbox": measure_outbox,
    "loop": measure_loop,
    "flow": measure_flow,
}


# --- Prefect --------------------------------------------------------------------------------


def prepare_prefect(home: Path, *, quiet: bool) -> None:
    """Prefect reads its settings when it is first imported: set them before that."""
    if "prefect" in sys.modules:
        raise BenchError("Prefect was imported before its environment was set")
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("PREFECT_PROFILES_PATH", None)  # profiles.toml under the temporary home
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if quiet:
        # The API log handler still gets every INFO line (that is part of the cost);
        # only the terminal is spared 200 "Finished in state Completed" lines.
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "WARNING"


@contextmanager
def prefect_server(timings: dict[str, float]) -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    start = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        timings["server_startup_s"] = time.perf_counter() - start
        yield


def prefect_version() -> str:
    from importlib.metadata import version

    return version("prefect")


# --- running and reporting ------------------------------------------------------------------


@dataclass
class Result:
    n: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def seconds(self, method: str) -> float | None:
        got = self.samples.get(method)
        return statistics.median(s.seconds for s in got) if got else None

    def last_message(self, method: str) -> float | None:
        got = self.samples.get(method)
        return statistics.median(s.last_message_s for s in got) if got else None

    def cpu(self, method: str) -> float | None:
        got = self.samples.get(method)
        return statistics.median(s.cpu_s for s in got) if got else None

    def child_cpu(self, method: str) -> float | None:
        got = [s.child_cpu_s for s in self.samples.get(method, []) if s.child_cpu_s is not None]
        return statistics.median(got) if got else None

    def per_message_ms(self, method: str) -> float | None:
        s = self.seconds(method)
        return None if s is None else 1000 * s / self.n

    def ratio(self, top: str, bottom: str) -> float | None:
        a, b = self.seconds(top), self.seconds(bottom)
        return None if a is None or b is None or b == 0 else a / b


class Runner:
    def __init__(self, workdir: Path, deadline: dt.date, *, verbose: bool) -> None:
        self.workdir = workdir
        self.deadline = deadline
        self.worlds: dict[int, World] = {}
        self.counter = 0
        self.verbose = verbose

    def world(self, n: int) -> World:
        if n not in self.worlds:
            self.worlds[n] = build_world(self.workdir, n, self.deadline)
        return self.worlds[n]

    def run(self, method: str, n: int) -> Sample:
        self.counter += 1
        data_dir = self.workdir / f"data-{self.counter:03d}-{method}-{n}"
        sample = MEASURE[method](self.world(n), data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        if self.verbose:
            print(f"  {LABELS[method]:<16} N={n:<5} {sample.seconds:8.3f} s", file=sys.stderr)
        return sample


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "prefect": prefect_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


MARGINAL_KEYS = ("ms_per_message", "fixed_s")


def marginal(small: Result, large: Result, method: str) -> tuple[float | None, float | None]:
    """Cost of one more message (ms) and the fixed part (s): a line through two sizes.

    Taken from the time to the last message written, not the total: the flow's total
    also holds its teardown, which Prefect rounds up to whole seconds (see README).
    """
    a, b = small.last_message(method), large.last_message(method)
    if a is None or b is None or large.n == small.n:
        return None, None
    slope = (b - a) / (large.n - small.n)
    return 1000 * slope, a - slope * small.n


def print_rows(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_table(results: list[Result], methods: list[str], info: dict[str, Any]) -> None:
    print()
    print("Fan-out of the remissmissiv: wall-clock seconds (median of repeats)")
    print(
        f"machine: {info['cpu_count']} CPUs, Python {info['python']}, Prefect {info['prefect']}, "
        f"SQLite {info['sqlite']}, {info['platform']}"
    )
    print(f"date: {info['date']}; work folder under {info['workdir']}; repeats {info['repeat']}")
    print(
        f"load average (1, 5, 15 min) before {info['load_before']}, after {info['load_after']}: "
        "other work on the machine slows every figure"
    )
    if "server_startup_s" in info:
        print(
            "Prefect: temporary local server started once by prefect_test_harness() in "
            f"{info['server_startup_s']:.1f} s (excluded)"
        )
    if info["warmup"]:
        print(f"warm-up: one untimed round of N={info['warmup']} per method")
    print()
    head = ["N"]
    for m in methods:
        head += [f"{SHORT[m]} s", f"{SHORT[m]} ms/msg"]
    head += ["B/A"] + (["flow/B"] if "flow" in methods else [])
    rows = [head]
    for r in results:
        row = [str(r.n)]
        for m in methods:
            row += [fmt(r.seconds(m), ".3f"), fmt(r.per_message_ms(m), ".2f")]
        row.append(fmt(r.ratio("loop", "outbox"), ".1f"))
        if "flow" in methods:
            row.append(fmt(r.ratio("flow", "loop"), ".1f"))
        rows.append(row)
    print_rows(rows)
    print()
    print("A = outbox only (prebuilt messages), B = service loop without Prefect,")
    print("flow = start_round flow, one Prefect task per dispatch (4 threads).")

    print()
    print("Where the time goes: wall time until the last message was written and after it")
    print("(for the flow: status artifact, ends of subflow and flow run); CPU time of this")
    print("process (all threads) and of its child processes (the Prefect server)")
    rows = [["N", "method", "wall s", "to last msg s", "after s", "cpu s", "server cpu s"]]
    rows[0].append("cpu ms/msg")
    for r in results:
        for m in methods:
            total, last = r.seconds(m), r.last_message(m)
            cpu, child = r.cpu(m), r.child_cpu(m)
            both = None if cpu is None else cpu + (child or 0.0)
            rows.append(
                [
                    str(r.n),
                    LABELS[m],
                    fmt(total, ".3f"),
                    fmt(last, ".3f"),
                    fmt(None if total is None or last is None else total - last, ".3f"),
                    fmt(cpu, ".2f"),
                    fmt(child, ".2f"),
                    fmt(None if both is None else 1000 * both / r.n, ".1f"),
                ]
            )
    print_rows(rows)

    for small, large in itertools.pairwise(results):
        print()
        print(f"marginal cost of one more message, N={small.n} -> {large.n} (to the last message):")
        for m in methods:
            slope, fixed = marginal(small, large, m)
            print(f"  {LABELS[m]:<16} {fmt(slope, '6.2f')} ms/msg, fixed {fmt(fixed, '.2f')} s")

    print()
    for r in results:
        for m in methods:
            got = r.samples.get(m, [])
            retries = sum(s.retries for s in got)
            size = got[0].eml_bytes if got else 0
            note = f"; {retries} send retries" if retries else ""
            print(f"N={r.n} {LABELS[m]}: outbox held exactly {r.n} messages of {size} bytes{note}")


def as_json(results: list[Result], methods: list[str], info: dict[str, Any]) -> str:
    return json.dumps(
        {
            "machine": info,
            "results": [
                {
                    "n": r.n,
                    **{
                        m: {
                            "seconds": r.seconds(m),
                            "ms_per_message": r.per_message_ms(m),
                            "to_last_message_s": r.last_message(m),
                            "cpu_s": r.cpu(m),
                            "server_cpu_s": r.child_cpu(m),
                            "samples_s": [s.seconds for s in r.samples.get(m, [])],
                            "samples_to_last_message_s": [
                                s.last_message_s for s in r.samples.get(m, [])
                            ],
                            "eml_bytes": r.samples[m][0].eml_bytes if r.samples.get(m) else None,
                            "send_retries": sum(s.retries for s in r.samples.get(m, [])),
                        }
                        for m in methods
                    },
                    "ratio_b_over_a": r.ratio("loop", "outbox"),
                    "ratio_flow_over_b": r.ratio("flow", "loop"),
                }
                for r in results
            ],
            "marginal": [
                {
                    "from_n": small.n,
                    "to_n": large.n,
                    **{
                        m: dict(zip(MARGINAL_KEYS, marginal(small, large, m), strict=True))
                        for m in methods
                    },
                }
                for small, large in itertools.pairwise(results)
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def sizes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"comma-separated whole numbers: {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be 1 or more: {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=sizes, default=[50, 200], help="default: 50,200")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median counts")
    parser.add_argument("--warmup", type=int, default=5, help="untimed warm-up size; 0: none")
    parser.add_argument("--no-flow", action="store_true", help="baselines only, no Prefect")
    parser.add_argument("--workdir", type=Path, help="parent of the temporary folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--verbose", action="store_true", help="progress and Prefect's logs")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be 1 or more and --warmup 0 or more")

    methods = ["outbox", "loop"] if args.no_flow else list(METHODS)
    deadline = working_day_ahead(weeks=6)
    with tempfile.TemporaryDirectory(prefix="remiss-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        info: dict[str, Any] = {
            "workdir": str(workdir.parent),
            "warmup": args.warmup,
            "repeat": args.repeat,
            "load_before": load_average(),
        }
        prepare_prefect(workdir / "prefect-home", quiet=not args.verbose)
        runner = Runner(workdir, deadline, verbose=args.verbose)
        results = [Result(n) for n in args.sizes]

        def series(method: str) -> None:
            if args.warmup:
                runner.run(method, args.warmup)
            for r in results:
                r.samples[method] = [runner.run(method, r.n) for _ in range(args.repeat)]

        series("outbox")
        series("loop")
        if "flow" in methods:
            timings: dict[str, float] = {}
            with prefect_server(timings):
                series("flow")
            info.update(timings)
        info = {**machine(), **info, "load_after": load_average()}

    if args.json:
        print(as_json(results, methods, info))
    else:
        print_table(results, methods, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
