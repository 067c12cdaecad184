"""The reminder sweep at scale: find and claim what is due among many open dispatches.

For each size (default 10 000 and 100 000 open dispatches in 500 rounds, 1% due), on
PostgreSQL (REMISS_TEST_POSTGRES_URL, as the tests use) or with --sqlite:

  1. one round is started the ordinary way (rounds_start.prepare_round) to N/500
     remissinstanser, and copied in SQL to 500 rounds; every remissmissiv counts as sent;
  2. 1% of the dispatches get a deadline two working days after the sweep's moment, so
     that the "2 working days before" reminder is due then; the rest are due weeks later;
  3. next_reminder_at (what the application keeps up to date after each send) is set in
     SQL: a minute before the sweep for the 1%, a week after it for the rest;
  4. timed: what the påminnelser flow's first task does (flows/reminders.py
     queue_due_reminders, called as a function): the indexed query for due dispatches,
     the claims (a hundred dispatches per transaction), and the query for leftovers.

The work should grow with what is due, not with what is open: compare the two sizes.
The script fails if the number of claimed reminders is not exactly 1% of N.

    .venv/bin/python bench/sweep.py                     # 10000,100000 on PostgreSQL
    .venv/bin/python bench/sweep.py --sizes 2000 --sqlite
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from fanout import BenchError, build_world, configure, machine, working_day_ahead  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from flows.reminders import queue_due_reminders  # noqa: E402
from remiss.core import dates  # noqa: E402
from remiss.core.settings import Settings, load_settings  # noqa: E402
from remiss.db.engine import get_engine, session_scope  # noqa: E402
from remiss.db.models import Dispatch, OutgoingMessage, Round  # noqa: E402
from remiss.reminders import sweep as reminding  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402

ROUNDS = 500
TZ = "Europe/Stockholm"
POSTGRES = os.environ.get(
    "REMISS_TEST_POSTGRES_URL", "postgresql+psycopg://remiss:remiss@127.0.0.1:5432/postgres"
)


def fresh_postgres() -> str:
    admin = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"remiss_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def build(n: int, root: Path, database_url: str, as_of: dt.datetime) -> Settings:
    per_round = n // ROUNDS
    world = build_world(root, per_round, working_day_ahead(8))
    configure(world, root / f"data-{n}")
    os.environ["REMISS_DATABASE_URL"] = database_url
    settings = load_settings()
    rounds_start.init(settings, now=dates.utcnow())
    first = rounds_start.prepare_round(
        settings, world.case, now=dates.utcnow(), to=None, deadline=world.deadline
    )
    engine = get_engine(settings.database_url)
    round_cols = [c.name for c in Round.__table__.columns if c.name not in ("id", "uid")]
    dispatch_cols = [
        c.name
        for c in Dispatch.__table__.columns
        if c.name not in ("id", "round_id", "token_hash", "token_nonce")
    ]
    sent_at = dates.utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(Dispatch).where(Dispatch.round_id == first).values(state="sent", sent_at=sent_at)
        )
        conn.execute(update(OutgoingMessage).values(state="sent", sent_at=sent_at))
        base = conn.execute(select(Round).where(Round.id == first)).mappings().one()
        for _ in range(ROUNDS - 1):
            new_id = conn.execute(
                insert(Round).values(uid=uuid.uuid4().hex, **{c: base[c] for c in round_cols})
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                insert(Dispatch).from_select(
                    ["round_id", *dispatch_cols],
                    select(
                        text(str(int(new_id))), *[Dispatch.__table__.c[c] for c in dispatch_cols]
                    ).where(Dispatch.round_id == first),
                )
            )
        total = conn.execute(select(func.count()).select_from(Dispatch)).scalar_one()
        if total != per_round * ROUNDS:
            raise BenchError(f"built {total} dispatches, expected {per_round * ROUNDS}")
        # 1%: a deadline two working days after the sweep, so its reminder is due then.
        due_deadline = dates.add_working_days(dates.local_today(as_of, TZ), 2)
        conn.execute(
            update(Dispatch)
            .where(Dispatch.id % 100 == 0)
            .values(deadline=due_deadline, next_reminder_at=as_of - dt.timedelta(minutes=1))
        )
        conn.execute(
            update(Dispatch)
            .where(Dispatch.id % 100 != 0)
            .values(next_reminder_at=as_of + dt.timedelta(days=7))
        )
    return settings


def sweep(settings: Settings, as_of: dt.datetime) -> tuple[float, float, int]:
    """The påminnelser flow's first task: (seconds to find, seconds in all, claimed).

    The find is timed on its own first; then the task itself runs (without Prefect), which
    finds again, claims and looks for leftovers.
    """
    start = time.perf_counter()
    with session_scope(settings.database_url) as session:
        reminding.due_dispatch_ids(session, now=as_of)
    found = time.perf_counter() - start
    start = time.perf_counter()
    claimed = queue_due_reminders.fn(as_of)
    return found, time.perf_counter() - start, len(claimed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="remiss-bench-sweep-"))
    day = working_day_ahead(4)
    as_of = dates.local_instant(day, 8, 0, TZ)
    rows: list[dict[str, Any]] = []
    for n in (int(s) for s in args.sizes.split(",")):
        url = f"sqlite:///{root / f'sweep-{n}.db'}" if args.sqlite else fresh_postgres()
        t0 = time.perf_counter()
        settings = build(n, root, url, as_of)
        built = time.perf_counter() - t0
        found, total, claimed = sweep(settings, as_of)
        if claimed != n // 100:
            raise BenchError(f"N={n}: claimed {claimed} reminders, expected {n // 100}")
        rows.append(
            {
                "open": n,
                "due": claimed,
                "find_s": round(found, 4),
                "find_and_claim_s": round(total, 3),
                "per_claim_ms": round(1000 * (total - found) / claimed, 2),
                "build_s": round(built, 1),
            }
        )
        get_engine(settings.database_url).dispose()
    print(f"\nReminder sweep on {'SQLite' if args.sqlite else 'PostgreSQL'} ({ROUNDS} rounds)\n")
    print(f"{'open':>8} {'due':>6} {'find s':>8} {'find+claim s':>13} {'ms/claim':>9}")
    for r in rows:
        print(
            f"{r['open']:>8} {r['due']:>6} {r['find_s']:>8.3f} {r['find_and_claim_s']:>13.2f} "
            f"{r['per_claim_ms']:>9.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
