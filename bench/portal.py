"""The answer page under load: 50 concurrent clients, each an official with their own link.

A round to N remissinstanser is started (SQLite, outbox); the page is served by uvicorn
in a process of its own (one worker, as `remiss portal` runs it, with no hand-over to
Prefect so that only the page is measured). Then, with `--clients` concurrent clients
(asyncio + httpx in this process, which shares the machine's CPUs with the server):

  page    GET /r/{token}, the landing page, `--requests` times in all;
  upload  POST /r/{token}/svar with a 5 MB PDF, once per client (each a new version);
  page (ab)  the landing page again through ApacheBench (`ab`, Debian's apache2-utils),
          a load generator in C that takes less of the CPUs the server needs.

Latencies are per request, from sending to the whole answer read: median, p95, max.

    .venv/bin/python bench/portal.py
    .venv/bin/python bench/portal.py --clients 10 --requests 500 --upload-mb 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fanout import BenchError, build_world, configure, machine, working_day_ahead  # noqa: E402

from remiss.core import dates  # noqa: E402
from remiss.core.dates import utcnow  # noqa: E402
from remiss.mail.outbox import OutboxMailer  # noqa: E402
from remiss.outbox.sending import send_missiv  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402

SERVER = """
import uvicorn
from remiss.core.settings import load_settings
from remiss.web.app import create_app
uvicorn.run(create_app(load_settings(), trigger=None), host="127.0.0.1", port={port},
            access_log=False, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "requests": len(ordered),
    }


def apache_bench(url: str, requests: int, clients: int) -> dict[str, float]:
    """The same page through ApacheBench (Debian's apache2-utils), a load generator in C
    that leaves more of the machine's two CPUs to the server than httpx in Python does."""
    if shutil.which("ab") is None:
        raise BenchError("ab is missing: apt-get install -y apache2-utils")
    with tempfile.NamedTemporaryFile(suffix=".csv") as csv:
        out = subprocess.run(
            ["ab", "-q", "-n", str(requests), "-c", str(clients), "-e", csv.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        within = dict(line.split(",") for line in Path(csv.name).read_text().splitlines()[1:])
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if failed is None or failed.group(1) != "0":
        raise BenchError(f"ab: not every request succeeded:\n{out}")
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    assert rate is not None
    return {
        "requests": requests,
        "median_ms": float(within["50"]),
        "p95_ms": float(within["95"]),
        "max_ms": float(within["100"]),
        "per_second": float(rate.group(1)),
    }


def pdf_of(size: int) -> bytes:
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    filler = b"% " + b"x" * 78 + b"\n"
    body = head + filler * ((size - len(head)) // len(filler))
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


async def load(base: str, links: list[str], requests: int, clients: int, pdf: bytes) -> Any:
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        page: list[float] = []
        queue = asyncio.Queue[str]()
        for i in range(requests):
            queue.put_nowait(links[i % len(links)])

        async def reader() -> None:
            while not queue.empty():
                link = queue.get_nowait()
                start = time.perf_counter()
                response = await client.get(link)
                page.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise BenchError(f"GET {link}: {response.status_code}")

        await asyncio.gather(*(reader() for _ in range(clients)))

        upload: list[float] = []

        async def official(link: str) -> None:
            # A browser of its own: the CSRF cookie belongs to this official's session.
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
                upload.append(time.perf_counter() - start)
                if response.status_code not in (200, 303):
                    raise BenchError(f"POST {link}/svar: {response.status_code}")

        await asyncio.gather(*(official(link) for link in links[:clients]))
    return page, upload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--upload-mb", type=float, default=5.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="remiss-bench-portal-"))
    world = build_world(root, args.clients, working_day_ahead(6))
    settings = configure(world, root / "data")
    os.environ["REMISS_UPLOAD_MAX_FILE_MB"] = str(int(args.upload_mb) + 1)
    os.environ["REMISS_SECRET_KEY"] = "bench-" + "k" * 40
    port = free_port()
    # Plain http on loopback: with an https base_url the CSRF cookie would be Secure.
    os.environ["REMISS_BASE_URL"] = f"http://127.0.0.1:{port}"
    from remiss.core.settings import load_settings

    settings = load_settings()
    rounds_start.init(settings, now=dates.utcnow())
    round_id = rounds_start.prepare_round(
        settings, world.case, now=dates.utcnow(), to=None, deadline=world.deadline
    )
    mailer = OutboxMailer(settings.outbox_dir)
    for dispatch_id in rounds_start.pending_sends(settings, round_id):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
    links = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        match = re.search(r"/r/[A-Za-z0-9_-]+", path.read_text(errors="replace"))
        if match:
            links.append(match.group(0))
    if len(links) != args.clients:
        raise BenchError(f"{len(links)} links for {args.clients} clients")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)], env=dict(os.environ), cwd=ROOT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        pdf = pdf_of(int(args.upload_mb * 1024 * 1024))
        asyncio.run(load(base, links, 100, 10, pdf[:1000] + b"%%EOF\n"))  # warm-up
        page, upload = asyncio.run(load(base, links, args.requests, args.clients, pdf))
        ab = apache_bench(base + links[0], args.requests, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "clients": args.clients,
        "page": percentiles(page),
        "page_ab": ab,
        "upload": {**percentiles(upload), "mb": args.upload_mb},
    }
    print(f"\nAnswer page, {args.clients} concurrent clients (load generator on this machine)\n")
    print(f"{'':8} {'requests':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name in ("page", "upload"):
        r = result[name]
        print(
            f"{name:8} {r['requests']:>9} {r['median_ms']:>10.1f} {r['p95_ms']:>8.1f} "
            f"{r['max_ms']:>8.1f}"
        )
    print(
        f"page (ab) {ab['requests']:>9} {ab['median_ms']:>10.1f} {ab['p95_ms']:>8.1f} "
        f"{ab['max_ms']:>8.1f}   {ab['per_second']:.0f} per second"
    )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
