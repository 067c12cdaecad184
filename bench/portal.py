"""The answer page under load, beside a bare page, on SQLite and on PostgreSQL.

A round to `--links` remissinstanser is started (outbox). Each server runs in a process of
its own under uvicorn (`--workers` processes, one by default, as `remiss portal` runs;
no hand-over to Prefect, so only the page is measured) and gets `--connections`
concurrent connections for `--seconds`, spread over the round's links:

  bare   the floor: FastAPI and Jinja2, the link's token hashed and looked up in SQLite
         with the sqlite3 module, a small page rendered;
  ours   GET /r/{token}, the answer page (`remiss.web.app.create_app`), with
         Sec-Fetch-User: ?1 as a person's click sends, so the first view of each link
         records its opening and the later ones must not write.

The bare page is measured right before each of ours, so each ratio compares two
measurements a few seconds apart on the same machine. The load comes from wrk (Debian's
`wrk`) where installed, else from a slower load generator in Python (asyncio + httpx, in
this process). Then one upload per link (POST /r/{token}/svar with a PDF) checks that
answering still works beside the reads. The benchmark fails unless every request was
answered 200 (303 for the uploads) and every link's opening was recorded exactly once.

    .venv/bin/python bench/portal.py
    .venv/bin/python bench/portal.py --seconds 5 --no-postgres --workers 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fanout import BenchError, build_world, configure, machine, working_day_ahead  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from remiss.core import dates  # noqa: E402
from remiss.core.dates import utcnow  # noqa: E402
from remiss.core.states import EventKind  # noqa: E402
from remiss.db.engine import session_scope  # noqa: E402
from remiss.db.models import Dispatch, Event  # noqa: E402
from remiss.mail.outbox import OutboxMailer  # noqa: E402
from remiss.outbox.sending import send_missiv  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402

POSTGRES_URL = os.environ.get(
    "REMISS_BENCH_POSTGRES_URL", "postgresql+psycopg://remiss:remiss@127.0.0.1:5432/postgres"
)
SCRATCH_DB = "remiss_bench_portal"

OURS_APP = """
from remiss.core.settings import load_settings
from remiss.web.app import create_app


def create():
    return create_app(load_settings(), trigger=None)
"""

BARE_APP = """
import hashlib
import sqlite3
import threading

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from jinja2 import Environment, DictLoader

DB = {db!r}
PAGE = '''<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>{{{{ name }}}}</title></head>
<body><main><h1>Remiss till {{{{ name }}}}</h1>
<p>Svara senast {{{{ deadline }}}}.</p>
<ul>{{% for item in items %}}<li>{{{{ item }}}}</li>{{% endfor %}}</ul>
<form method="post" action="/r/{{{{ token }}}}/svar"><input type="hidden" name="csrf"
value="{{{{ token }}}}"><button>Skicka</button></form></main></body></html>'''
template = Environment(loader=DictLoader({{"page": PAGE}}), autoescape=True).get_template("page")
local = threading.local()
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


def connection():
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(DB)
    return local.db


@app.get("/r/{{token}}", response_class=HTMLResponse)
def page(token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = connection().execute(
        "SELECT name, deadline FROM links WHERE token_hash = ?", (digest,)
    ).fetchone()
    if row is None:
        raise HTTPException(404)
    items = [f"Punkt {{i}}" for i in range(10)]
    return template.render(name=row[0], deadline=row[1], token=token, items=items)
"""

# wrk: the links in turn, a person's click (Sec-Fetch-User), and every status counted.
WRK_SCRIPT = """
local paths = {{{paths}}}
local threads = {{}}
wrk.headers["Sec-Fetch-User"] = "?1"

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads)
end

function init(args)
  at = offset
  answered = 0
  not_ok = 0
end

function request()
  at = at % #paths + 1
  return wrk.format("GET", paths[at])
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local total, bad = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("answered")
    bad = bad + t:get("not_ok")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %.0f %.0f %.0f %.0f\\n",
    total, bad, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(app_dir: Path, target: str, *, workers: int, factory: bool) -> Iterator[str]:
    """`target` under uvicorn in a process of its own; yields its base address."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(app_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--no-access-log", "--log-level", "warning", "--no-proxy-headers"]
    command += ["--factory"] if factory else []
    process = subprocess.Popen(command, env=dict(os.environ), cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/r/x", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise BenchError(f"{target} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_wrk(base: str, paths: list[str], *, connections: int, seconds: float) -> dict[str, Any]:
    lua = WRK_SCRIPT.format(paths=", ".join(json.dumps(p) for p in paths))
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        threads, duration = min(2, connections), max(1, round(seconds))
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
             "-s", script.name, base],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if found is None:
        raise BenchError(f"wrk printed no result:\n{out}")
    total, bad, errors, micros, p50, p95, p99, top = (int(g) for g in found.groups())
    if total == 0 or bad or errors:
        raise BenchError(f"wrk: {total} answered, {bad} not 200, {errors} socket errors")
    return {
        "requests": total,
        "per_second": round(total / (micros / 1e6), 1),
        "p50_ms": round(p50 / 1000, 1),
        "p95_ms": round(p95 / 1000, 1),
        "p99_ms": round(p99 / 1000, 1),
        "max_ms": round(top / 1000, 1),
    }


def run_python(base: str, paths: list[str], *, connections: int, seconds: float) -> dict[str, Any]:
    """The fallback load generator: `connections` clients in a loop for `seconds`."""

    async def load() -> tuple[list[float], float]:
        limits = httpx.Limits(max_connections=connections)
        headers = {"Sec-Fetch-User": "?1"}
        timings: list[float] = []
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            started = time.perf_counter()
            end = started + seconds

            async def one(offset: int) -> None:
                at = offset
                while time.perf_counter() < end:
                    at = (at + 1) % len(paths)
                    sent = time.perf_counter()
                    response = await client.get(paths[at], headers=headers)
                    timings.append(time.perf_counter() - sent)
                    if response.status_code != 200:
                        raise BenchError(f"GET {paths[at]}: {response.status_code}")

            await asyncio.gather(*(one(i) for i in range(connections)))
            return timings, time.perf_counter() - started

    timings, elapsed = asyncio.run(load())
    ordered = sorted(timings)

    def at(p: float) -> float:
        return round(1000 * ordered[int(p * (len(ordered) - 1))], 1)

    return {
        "requests": len(ordered),
        "per_second": round(len(ordered) / elapsed, 1),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": at(1.0),
    }


def measure(base: str, paths: list[str], *, connections: int, seconds: float) -> dict[str, Any]:
    runner = run_wrk if shutil.which("wrk") else run_python
    runner(base, paths, connections=connections, seconds=min(2.0, seconds))  # warm-up
    return runner(base, paths, connections=connections, seconds=seconds)


def pdf_of(size: int) -> bytes:
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    filler = b"% " + b"x" * 78 + b"\n"
    body = head + filler * ((size - len(head)) // len(filler))
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


async def uploads(base: str, paths: list[str], pdf: bytes) -> list[float]:
    """One answer per link, all at once, each from a browser of its own (CSRF cookie)."""
    timings: list[float] = []

    async def official(link: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as own:
            form = await own.get(link)
            found = re.search(r'name="csrf" value="([^"]+)"', form.text)
            if not found:
                raise BenchError("no CSRF token on the answer page")
            start = time.perf_counter()
            response = await own.post(
                f"{link}/svar",
                data={"csrf": found.group(1), "stallningstagande": "tillstyrker"},
                files=[("filer", ("yttrande.pdf", pdf, "application/pdf"))],
            )
            timings.append(time.perf_counter() - start)
            if response.status_code != 303:
                raise BenchError(f"POST {link}/svar: {response.status_code}")

    await asyncio.gather(*(official(link) for link in paths))
    return timings


def scratch_postgres() -> str:
    """A fresh database for the benchmark on the PostgreSQL server."""
    import psycopg

    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + SCRATCH_DB


def start_round(root: Path, links: int, database_url: str | None) -> list[str]:
    """A round sent to `links` remissinstanser; their links' paths."""
    world = build_world(root, links, working_day_ahead(6))
    configure(world, root / "data")
    os.environ["REMISS_SECRET_KEY"] = "bench-" + "k" * 40
    os.environ["REMISS_UPLOAD_MAX_FILE_MB"] = "2"
    # Plain http on loopback: with an https base_url the CSRF cookie would be Secure.
    os.environ["REMISS_BASE_URL"] = "http://127.0.0.1"
    if database_url:
        os.environ["REMISS_DATABASE_URL"] = database_url
    from remiss.core.settings import load_settings

    settings = load_settings()
    rounds_start.init(settings, now=dates.utcnow())
    round_id = rounds_start.prepare_round(
        settings, world.case, now=dates.utcnow(), to=None, deadline=world.deadline
    )
    mailer = OutboxMailer(settings.outbox_dir)
    for dispatch_id in rounds_start.pending_sends(settings, round_id):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
    paths = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        match = re.search(r"/r/[A-Za-z0-9_-]+", path.read_text(errors="replace"))
        if match:
            paths.append(match.group(0))
    if len(paths) != links:
        raise BenchError(f"{len(paths)} links for {links} remissinstanser")
    return paths


def bare_database(app_dir: Path, database_url: str) -> None:
    """The bare page's SQLite table: the same links' hashes and names."""
    import sqlite3

    with session_scope(database_url) as session:
        rows = session.execute(select(Dispatch.token_hash, Dispatch.name, Dispatch.deadline))
        links = [(h, n, d.isoformat()) for h, n, d in rows]
    db = app_dir / "bare.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE links (token_hash TEXT PRIMARY KEY, name TEXT, deadline TEXT)")
        conn.executemany("INSERT INTO links VALUES (?, ?, ?)", links)
    (app_dir / "bareapp.py").write_text(textwrap.dedent(BARE_APP.format(db=str(db))))


def check_openings(database_url: str, links: int) -> None:
    """Every link was opened by a 'person' many times: recorded exactly once each."""
    with session_scope(database_url) as session:
        opened = session.scalar(select(func.count()).where(Dispatch.opened_at.is_not(None)))
        events = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == EventKind.OPENED)
        )
    if opened != links or events != links:
        raise BenchError(f"{links} links: {opened} marked opened, {events} opening events")


def bench_backend(name: str, args: argparse.Namespace, database_url: str | None) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"remiss-bench-portal-{name}-"))
    app_dir = root / "apps"
    app_dir.mkdir()
    paths = start_round(root, args.links, database_url)
    from remiss.core.settings import load_settings

    url = load_settings().database_url
    bare_database(app_dir, url)
    (app_dir / "oursapp.py").write_text(OURS_APP)
    load = {"connections": args.connections, "seconds": args.seconds}
    results: dict[str, Any] = {}
    for workers in args.workers:
        with server(app_dir, "bareapp:app", workers=workers, factory=False) as base:
            results[f"bare/{workers}"] = measure(base, paths, **load)
        with server(app_dir, "oursapp:create", workers=workers, factory=True) as base:
            results[f"ours/{workers}"] = measure(base, paths, **load)
            if workers == args.workers[0]:
                pdf = pdf_of(int(args.upload_kb * 1024))
                timings = sorted(asyncio.run(uploads(base, paths, pdf)))
                results["upload"] = {
                    "requests": len(timings),
                    "p50_ms": round(1000 * timings[len(timings) // 2], 1),
                    "max_ms": round(1000 * timings[-1], 1),
                    "kb": args.upload_kb,
                }
    check_openings(url, args.links)
    shutil.rmtree(root, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--links", type=int, default=18, help="remissinstanser in the round")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1],
        help="uvicorn worker processes; each count measured in turn",
    )  # fmt: skip
    parser.add_argument("--upload-kb", type=float, default=500.0)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.workers = list(dict.fromkeys(args.workers))
    generator = "wrk" if shutil.which("wrk") else "Python (asyncio + httpx; wrk is not installed)"
    backends: dict[str, Any] = {"sqlite": bench_backend("sqlite", args, None)}
    if not args.no_postgres:
        backends["postgresql"] = bench_backend("postgresql", args, scratch_postgres())
    print(
        f"\nAnswer page, {args.connections} connections for {args.seconds:g} s, "
        f"{args.links} links, load from {generator}; every request answered 200\n"
    )
    print(
        f"{'database':11} {'workers':>7} {'page':5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}  ours/bare"
    )
    for backend, results in backends.items():
        for workers in args.workers:
            bare, ours = results[f"bare/{workers}"], results[f"ours/{workers}"]
            for page, r in (("bare", bare), ("ours", ours)):
                ratio = f"  {ours['per_second'] / bare['per_second']:.0%}" if page == "ours" else ""
                print(
                    f"{backend:11} {workers:>7} {page:5} {r['per_second']:>8.0f} "
                    f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f}{ratio}"
                )
        up = results["upload"]
        print(
            f"{backend:11} {args.workers[0]:>7} {'upload':5}: {up['requests']} answers of "
            f"{up['kb']:g} kB at once, median {up['p50_ms']:.0f} ms, max {up['max_ms']:.0f} ms"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "generator": generator, **backends}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
