"""The reminder sweep at scale: find and claim what is due among many open dispatches.

For each size (default 1 000 000 open dispatches in 500 rounds, 1% due), on PostgreSQL
(REMISS_TEST_POSTGRES_URL, as the tests use) or with --sqlite:

  1. built (timed as "build"): one round is started the ordinary way
     (rounds_start.prepare_round) and closed; then one INSERT … SELECT per table
     (generate_series on PostgreSQL, a recursive CTE on SQLite) makes N/500
     remissinstanser, 500 open rounds, their N dispatches (every remissmissiv sent, with
     its message row and its "sent" event), then ANALYZE;
  2. 1% of the dispatches get a deadline two working days after the sweep's moment, so
     that the "2 working days before" reminder is due then, and next_reminder_at (what
     the application keeps up to date) a minute before the sweep; the rest a week after;
  3. timed: what the påminnelser flow's first task does (flows/reminders.py
     queue_due_reminders, called as a function): the indexed query for due dispatches,
     the claims (the reminder messages created, their events, next_reminder_at moved on)
     and the query for leftovers. Sending the claimed reminders is not timed;
  4. checked: exactly 1% claimed, one reminder per due dispatch, none still due, and a
     second sweep at the same instant creates nothing new (it returns the same messages
     as leftovers). The script fails otherwise.

    .venv/bin/python bench/sweep.py                          # 1 000 000 on PostgreSQL
    .venv/bin/python bench/sweep.py --sizes 50000 --sqlite
"""

# ruff: noqa: S608  (the SQL built below takes only integers and fixed fragments)

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from fanout import BenchError, build_world, configure, machine, working_day_ahead  # noqa: E402
from sqlalchemy import Date, bindparam, event, func, select, text  # noqa: E402
from sqlalchemy.engine import Connection, make_url  # noqa: E402
from sqlalchemy.sql.elements import BindParameter  # noqa: E402

from flows.reminders import queue_due_reminders  # noqa: E402
from remiss.core import dates  # noqa: E402
from remiss.core.settings import Settings, load_settings  # noqa: E402
from remiss.db.engine import get_engine, session_scope  # noqa: E402
from remiss.db.models import Dispatch, OutgoingMessage, Round, UTCDateTime  # noqa: E402
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


def drop_postgres(url: str) -> None:
    admin = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{make_url(url).database}"')


def series(dialect: str, name: str, n: int) -> tuple[str, str]:
    """(WITH clause, FROM item) for the integers 1..n as `name`(x)."""
    if dialect == "postgresql":
        return "", f"generate_series(1, {n}) AS {name}(x)"
    # SQLite has no generate_series without an extension: a recursive CTE.
    return (
        f"WITH RECURSIVE {name}(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM {name} WHERE x < {n}) ",
        name,
    )


@contextmanager
def bulk_load(conn: Connection, tables: list[str]) -> Iterator[None]:
    """On PostgreSQL, these tables' foreign keys, unique constraints and indexes (all but the
    primary keys) dropped while the rows go in and made again after, from their own
    definitions: a million rows load several times faster, and end with the same schema."""
    if conn.dialect.name != "postgresql":
        yield
        return
    names = {"tables": tables}
    constraints = conn.execute(
        text(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
               FROM pg_constraint WHERE conrelid::regclass::text = ANY(:tables)
               AND contype IN ('f', 'u') ORDER BY contype"""
        ),
        names,
    ).all()
    indexes = conn.execute(
        text(
            """SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
               WHERE indrelid::regclass::text = ANY(:tables) AND NOT indisprimary
               AND indexrelid NOT IN (SELECT conindid FROM pg_constraint)"""
        ),
        names,
    ).all()
    for table, name, _ in constraints:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield
    for _, definition in indexes:
        conn.execute(text(definition))
    for table, name, definition in reversed(constraints):
        conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


def build(n: int, root: Path, database_url: str, as_of: dt.datetime) -> Settings:
    """N open dispatches in ROUNDS rounds, 1% due at `as_of`: one INSERT … SELECT per table."""
    if n % ROUNDS or (n // ROUNDS) % 100:
        raise BenchError(f"N={n}: needs a multiple of {ROUNDS * 100}")
    per_round = n // ROUNDS
    (root / f"n{n}").mkdir()
    world = build_world(root / f"n{n}", 5, working_day_ahead(8))
    configure(world, root / f"data-{n}")
    os.environ["REMISS_DATABASE_URL"] = database_url
    settings = load_settings()
    rounds_start.init(settings, now=dates.utcnow())
    first = rounds_start.prepare_round(
        settings, world.case, now=dates.utcnow(), to=None, deadline=world.deadline
    )
    engine = get_engine(settings.database_url)
    dialect = engine.dialect.name
    sent_at = dates.utcnow()
    due_deadline = dates.add_working_days(dates.local_today(as_of, TZ), 2)
    params: list[BindParameter[Any]] = [
        bindparam("sent_at", sent_at, type_=UTCDateTime()),
        bindparam("due_at", as_of - dt.timedelta(minutes=1), type_=UTCDateTime()),
        bindparam("later_at", as_of + dt.timedelta(days=7), type_=UTCDateTime()),
        bindparam("deadline", dt.date.fromisoformat(world.deadline), type_=Date()),
        bindparam("due_deadline", due_deadline, type_=Date()),
    ]
    uid = "md5(random()::text || g.x)" if dialect == "postgresql" else "lower(hex(randomblob(16)))"
    ref = (
        "substr(encode(sha256(convert_to(k.key, 'UTF8')), 'hex'), 1, 32)"
        if dialect == "postgresql"
        else "lower(hex(randomblob(16)))"
    )
    with_r, rounds = series(dialect, "g", ROUNDS)
    with_i, instanser = series(dialect, "g", per_round)
    statements = [
        # The round started the ordinary way stays as it is, closed: only the copies count.
        "UPDATE utskick SET next_reminder_at = NULL",
        "UPDATE remissomgang SET state = 'closed'",
        f"""{with_i}INSERT INTO remissinstans (code, name, kind, email, groups, contacts,
                updated_at, ad_hoc)
            SELECT 'bench-' || g.x, r.name || ' ' || g.x, r.kind, 'bench-' || g.x || '@example.org',
                r.groups, r.contacts, r.updated_at, r.ad_hoc
            FROM remissinstans r, {instanser} WHERE r.id = (SELECT min(id) FROM remissinstans)""",
        f"""{with_r}INSERT INTO remissomgang (uid, case_id, state, svar_senast, base_url,
                started_at, reminder_policy)
            SELECT {uid}, r.case_id, 'open', r.svar_senast, r.base_url, r.started_at,
                r.reminder_policy
            FROM remissomgang r, {rounds} WHERE r.id = {first}""",
        # 1% due: a deadline two working days after the sweep, so its "2 working days
        # before" reminder is due then; the rest look again a week later.
        f"""INSERT INTO utskick (round_id, remissinstans_id, name, email, deadline, state,
                sent_at, created_at, next_reminder_at)
            SELECT r.id, i.id, i.name, i.email,
                CASE WHEN (r.id * {per_round} + i.id) % 100 = 0 THEN :due_deadline
                     ELSE :deadline END,
                'sent', :sent_at, :sent_at,
                CASE WHEN (r.id * {per_round} + i.id) % 100 = 0 THEN :due_at ELSE :later_at END
            FROM remissomgang r, remissinstans i
            WHERE r.id <> {first} AND i.code LIKE 'bench-%'""",
        # Each dispatch has its remissmissiv, sent, and the event saying so.
        f"""INSERT INTO utgaende_meddelande (dispatch_id, kind, stage, idempotency_key, state,
                attempts, sent_at, message_ref)
            SELECT k.id, 'missiv', 0, k.key, 'sent', 1, k.sent_at, {ref}
            FROM (SELECT d.id, d.sent_at, 'remiss-' || r.uid || '/' || i.code || '/missiv/0' AS key
                  FROM utskick d JOIN remissomgang r ON r.id = d.round_id
                  JOIN remissinstans i ON i.id = d.remissinstans_id
                  WHERE d.round_id <> {first}) k""",
        f"""INSERT INTO handelse (dispatch_id, at, kind, detail)
            SELECT id, sent_at, 'sent', '{{}}' FROM utskick WHERE round_id <> {first}""",
    ]
    with engine.begin() as conn, bulk_load(conn, ["utskick", "utgaende_meddelande", "handelse"]):
        for sql in statements:
            t = time.perf_counter()
            conn.execute(text(sql).bindparams(*[p for p in params if f":{p.key}" in sql]))
            if os.environ.get("BENCH_VERBOSE"):
                print(f"{time.perf_counter() - t:6.1f} s  {' '.join(sql.split())[:60]}")
        open_, due = conn.execute(
            select(
                func.count(),
                func.count().filter(Dispatch.next_reminder_at <= as_of),
            )
            .select_from(Dispatch)
            .join(Round)
            .where(Round.state == "open")
        ).one()
    if (open_, due) != (n, n // 100):
        raise BenchError(f"built {open_} open dispatches, {due} due; expected {n}, {n // 100}")
    # As a database that has held these rows for a while would be: statistics for the
    # planner, and the rows' visibility settled (the first reads after a bulk load would
    # otherwise rewrite every page they touch).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
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
    if os.environ.get("BENCH_VERBOSE"):
        statement_times(get_engine(settings.database_url))
    start = time.perf_counter()
    claimed = queue_due_reminders.fn(as_of)
    return found, time.perf_counter() - start, len(claimed)


def statement_times(engine: Any) -> None:
    """With BENCH_VERBOSE: each statement's time, to stderr."""

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        took = time.perf_counter() - conn.info["t"]
        print(f"{took:7.3f} {' '.join(statement.split())[:70]}", file=sys.stderr)


def check(settings: Settings, as_of: dt.datetime, n: int, claimed_first: int) -> None:
    """Exactly 1% claimed, each due dispatch once, and a second sweep claims nothing new."""
    if claimed_first != n // 100:
        raise BenchError(f"N={n}: claimed {claimed_first} reminders, expected {n // 100}")
    again = queue_due_reminders.fn(as_of)  # the leftovers: the same messages, none new
    with session_scope(settings.database_url) as session:
        reminders, dispatches, still_due = session.execute(
            select(
                func.count(OutgoingMessage.id),
                func.count(OutgoingMessage.dispatch_id.distinct()),
                select(func.count())
                .select_from(Dispatch)
                .where(Dispatch.next_reminder_at <= as_of)
                .scalar_subquery(),
            ).where(OutgoingMessage.kind.startswith("paminnelse_"))
        ).one()
    if (reminders, dispatches, len(again), still_due) != (n // 100, n // 100, n // 100, 0):
        raise BenchError(
            f"N={n}: {reminders} reminders for {dispatches} dispatches, a second sweep "
            f"returned {len(again)}, {still_due} still due; expected {n // 100} each and 0"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
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
        check(settings, as_of, n, claimed)
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
        if not args.sqlite and not args.keep:
            drop_postgres(url)
    print(f"\nReminder sweep on {'SQLite' if args.sqlite else 'PostgreSQL'} ({ROUNDS} rounds)\n")
    head = ("open", "due", "build s", "find s", "find+claim s", "ms/claim")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (8, 6, 8, 8, 13, 9), strict=True)))
    for r in rows:
        print(
            f"{r['open']:>8} {r['due']:>6} {r['build_s']:>8.1f} {r['find_s']:>8.3f} "
            f"{r['find_and_claim_s']:>13.2f} {r['per_claim_ms']:>9.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
