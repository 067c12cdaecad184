"""PostgreSQL restarted during a reminder sweep: the sweep fails cleanly, the next catches up.

The shared cluster on 5432 serves every other test, so this module starts a private
PostgreSQL cluster of its own and restarts it for real (`pg_ctl restart`/`stop`) in the
middle of a sweep over one round to the 16 facknämnder, all due for their first reminder.
Whatever happens, every reminder goes out exactly once: counted per key in the mailer's
log of `send` calls, and in the database (one message, sent, with one "sent" event).

A restart can meet the sweep in three ways:

- while a connection is in a transaction (claiming, or recording a send): that statement
  fails with SQLAlchemy's OperationalError and the sweep stops there (two tests);
- between two transactions: the pool's pre-ping notices the dead connections and opens
  new ones, and the sweep does not even notice;
- while the server is down: connecting fails, and the message whose send could not be
  recorded is left "sending", taken over by the next sweep once its process is gone.

Each runs with the sends one by one (as tests/db/test_reminding.py does) and in one
batch (as the flow does: every send claim first, then the sends), since a failure leaves
different claims behind in each.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from flows.reminders import queue_due_reminders
from remiss.core.settings import Settings
from remiss.core.states import PAMINNELSE_PREFIX
from remiss.db.engine import get_engine, session_scope
from remiss.db.models import Dispatch, Event, OutgoingMessage
from remiss.mail import OutgoingEmail
from remiss.outbox.outcomes import SendOutcome
from remiss.outbox.sending import send_batch, send_message, send_missiv
from remiss.rounds import start as rounds_start
from tests.conftest import EXAMPLE_CASE, settings_in_environment
from tests.support.mailers import RecordingOutbox, send_calls
from tests.support.net import free_port

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEADLINE = dt.date(2026, 12, 18)  # a Friday
GROUP = "facknamnder"  # 16 remissinstanser
ROUND_SIZE = 16


def local(day: dt.date, hour: int = 8, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM).astimezone(
        dt.UTC
    )


T0 = local(dt.date(2026, 11, 23), 9, 0)  # the round starts and the missiv goes out
FRIDAY = local(dt.date(2026, 12, 4))  # 10 working days before the deadline: fore10 is due
NEXT_STAGE = local(dt.date(2026, 12, 16))  # fore2


# --- A private PostgreSQL cluster ----------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are; missing binaries fail the test, as nothing may be skipped."""
    candidates = [os.environ.get("REMISS_TEST_PG_BINDIR", "")]
    found = shutil.which("pg_ctl")
    candidates.append(str(Path(found).parent) if found else "")
    # Debian keeps them out of PATH, one folder per major version; the newest wins.
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if candidate and all((Path(candidate) / b).is_file() for b in ("initdb", "pg_ctl")):
            return Path(candidate)
    pytest.fail(
        "These tests start their own PostgreSQL cluster and need its server binaries "
        "(initdb, pg_ctl): install PostgreSQL (`apt-get install postgresql`, as .ci/run "
        "does) or set REMISS_TEST_PG_BINDIR to the folder that holds them."
    )


@dataclass
class Cluster:
    """A throwaway cluster, trust auth on 127.0.0.1, run as postgres when we are root."""

    bindir: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgresql.log"

    def run(self, program: str, *args: str) -> None:
        # initdb and postgres refuse to run as root; as anyone else they run as themselves.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        command = [*prefix, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(
                f"{' '.join(command)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}\n{tail}"
            )

    def pg_ctl(self, action: str, *args: str) -> None:
        # -l: without a log file the server would keep our pipe open and run() never return.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, action, *args,
        )  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again; -w: returns once the server takes connections."""
        self.pg_ctl("restart", "-m", mode)

    def conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def started_at(self) -> dt.datetime:
        with psycopg.connect(self.conninfo()) as conn:
            row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
        assert row is not None
        started: dt.datetime = row[0]
        return started

    def create_database(self) -> str:
        name = f"remiss_restart_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bindir = postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="remiss-pg-restart-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pg = Cluster(bindir, root, free_port())
    try:
        pg.run(
            "initdb", "-D", str(pg.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        pg.start()
        yield pg
    finally:
        if (pg.data / "postmaster.pid").exists():
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Settings]:
    """Settings in the environment too: the flow's task loads its own."""
    url = cluster.url(cluster.create_database())
    s = settings_in_environment(monkeypatch, tmp_path / "data", url)
    rounds_start.init(s, now=T0)
    yield s
    get_engine(url).dispose()


# --- Provoking the restart -----------------------------------------------------------------


class TriggeringOutbox(RecordingOutbox):
    """The recording outbox that calls `after_reminder(n)` once the n-th reminder is written."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.reminders = 0
        self.after_reminder: Callable[[int], None] = lambda n: None

    def send(self, message: OutgoingEmail) -> str:
        result = super().send(message)
        if f"/{PAMINNELSE_PREFIX}" in message.idempotency_key:
            self.reminders += 1
            self.after_reminder(self.reminders)
        return result


class RestartBeforeStatement:
    """Restart the server just before the application's next matching SQL statement.

    The statement then runs on a connection whose server process is gone, as when a
    restart comes in the middle of a transaction.
    """

    def __init__(self, settings: Settings, cluster: Cluster) -> None:
        self.engine = get_engine(settings.database_url)
        self.cluster = cluster
        self.prefix = ""
        self.remaining = 0  # matching statements to let through; 0: disarmed
        self.fired: list[str] = []

    def arm(self, prefix: str, nth: int = 1) -> None:
        self.prefix, self.remaining = prefix, nth

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.remaining and statement.lstrip().upper().startswith(self.prefix):
            self.remaining -= 1
            if self.remaining == 0:
                self.fired.append(statement)
                self.cluster.restart("fast")

    def __enter__(self) -> RestartBeforeStatement:
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


# --- The round and the sweep ---------------------------------------------------------------


def start_round(settings: Settings, mailer: RecordingOutbox) -> int:
    round_id = rounds_start.prepare_round(
        settings, EXAMPLE_CASE, now=T0, to=[GROUP], deadline=DEADLINE.isoformat()
    )
    dispatches = rounds_start.pending_sends(settings, round_id)
    assert len(dispatches) == ROUND_SIZE
    for dispatch_id in dispatches:
        assert send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0).result
    with session_scope(settings.database_url) as session:
        due = session.scalars(select(Dispatch.next_reminder_at)).all()
        assert due == [FRIDAY] * ROUND_SIZE, "everyone's fore10 is due on the same morning"
    return round_id


@pytest.fixture(params=["one_by_one", "batch"])
def batch(request: pytest.FixtureRequest) -> bool:
    """Send as the flow does (one batch: every claim first, then the sends), or one by one."""
    return bool(request.param == "batch")


def sweep(
    settings: Settings,
    mailer: RecordingOutbox,
    as_of: dt.datetime,
    *,
    batch: bool,
    owner: str | None = None,
) -> list[SendOutcome]:
    """One run of the reminder flow's work: claim what is due (and leftovers), send them."""
    message_ids: list[int] = queue_due_reminders.fn(as_of)
    if batch:
        assert len(message_ids) <= mailer.batch_size, "the flow sends them in one batch"
        return send_batch(message_ids, settings=settings, mailer=mailer, now=as_of, owner=owner)
    return [
        send_message(m, settings=settings, mailer=mailer, now=as_of, owner=owner)
        for m in message_ids
    ]


def reminder_calls(settings: Settings) -> Counter[str]:
    """`send` calls per reminder key, from the mailer's own log."""
    return Counter(
        {k: n for k, n in send_calls(settings.outbox_dir).items() if f"/{PAMINNELSE_PREFIX}" in k}
    )


def reminder_messages(settings: Settings) -> dict[str, OutgoingMessage]:
    with session_scope(settings.database_url) as session:
        messages = session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.kind.startswith(PAMINNELSE_PREFIX))
        ).all()
        return {m.idempotency_key: m for m in messages}


def events(settings: Settings, kind: str) -> list[Event]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Event).where(Event.kind == kind)).all())


def check_no_false_sent_records(settings: Settings) -> None:
    """Nothing is marked sent that the mailer never got, and nothing went out twice."""
    calls = reminder_calls(settings)
    sent = {k for k, m in reminder_messages(settings).items() if m.state == "sent"}
    assert sent <= set(calls), f"recorded as sent but never sent: {sent - set(calls)}"
    assert all(n == 1 for n in calls.values()), f"sent more than once: {calls}"


def check_every_reminder_sent_once(settings: Settings) -> None:
    """Every due reminder went out once, and the database says so exactly once."""
    calls = reminder_calls(settings)
    assert len(calls) == ROUND_SIZE
    assert set(calls.values()) == {1}, f"sent more than once: {calls}"
    messages = reminder_messages(settings)
    assert set(messages) == set(calls)
    assert {m.state for m in messages.values()} == {"sent"}
    assert {m.kind for m in messages.values()} == {PAMINNELSE_PREFIX + "fore10"}
    assert len({m.dispatch_id for m in messages.values()}) == ROUND_SIZE
    sent_events = Counter(e.detail["key"] for e in events(settings, "sent"))
    assert {k: sent_events[k] for k in calls} == dict.fromkeys(calls, 1)
    queued = Counter(e.dispatch_id for e in events(settings, "reminder_queued"))
    assert sorted(queued.values()) == [1] * ROUND_SIZE, "each dispatch claimed its stage once"
    with session_scope(settings.database_url) as session:
        due = session.scalars(select(Dispatch.next_reminder_at)).all()
        assert due == [NEXT_STAGE] * ROUND_SIZE, "every dispatch waits for fore2"


def check_clean_failure(exc: OperationalError) -> None:
    """The error says the connection was lost; it is not, say, a constraint or a bug."""
    assert isinstance(exc.orig, psycopg.OperationalError), repr(exc.orig)
    assert exc.connection_invalidated, "SQLAlchemy saw a lost connection"


def dead_process_owner() -> str:
    """A claim owner on this machine whose process has exited, as a failed flow run's has."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


# --- The tests -----------------------------------------------------------------------------


def test_a_restart_while_claiming_stops_the_sweep_and_the_next_one_claims_the_rest(
    settings: Settings, cluster: Cluster, batch: bool
) -> None:
    mailer = TriggeringOutbox(settings)
    start_round(settings, mailer)
    started = cluster.started_at()

    with RestartBeforeStatement(settings, cluster) as restart:
        # The one statement that claims every dispatch's reminder (a set-based INSERT).
        restart.arm("INSERT INTO UTGAENDE_MEDDELANDE")
        with pytest.raises(OperationalError) as failed:
            sweep(settings, mailer, FRIDAY, batch=batch)
    assert len(restart.fired) == 1
    assert cluster.started_at() > started, "the server was restarted"
    check_clean_failure(failed.value)

    # Nothing was sent or claimed: the claims share one transaction (a thousand dispatches
    # per transaction), which the restart rolled back as a whole.
    assert reminder_calls(settings) == Counter()
    assert reminder_messages(settings) == {}
    with session_scope(settings.database_url) as session:
        due = session.scalars(select(Dispatch.id).where(Dispatch.next_reminder_at == FRIDAY))
        assert len(due.all()) == ROUND_SIZE, "all are still due"

    outcomes = sweep(settings, mailer, FRIDAY, batch=batch)
    assert [o.result for o in outcomes] == ["sent"] * ROUND_SIZE
    check_every_reminder_sent_once(settings)
    assert sweep(settings, mailer, FRIDAY, batch=batch) == [], "a third sweep has nothing to do"


def test_a_restart_while_a_send_is_recorded_stops_the_sweep_and_the_next_one_finishes(
    settings: Settings, cluster: Cluster, batch: bool
) -> None:
    mailer = TriggeringOutbox(settings)
    start_round(settings, mailer)
    started = cluster.started_at()
    k = 7

    with RestartBeforeStatement(settings, cluster) as restart:
        # The restart comes right after the 7th reminder is written, before it is marked sent.
        mailer.after_reminder = lambda n: restart.arm("UPDATE") if n == k else None
        with pytest.raises(OperationalError) as failed:
            sweep(settings, mailer, FRIDAY, batch=batch)
    (statement,) = restart.fired
    assert statement.startswith("UPDATE utgaende_meddelande SET state="), statement
    assert "sent_at=" in statement, "the one that marks it sent"
    assert cluster.started_at() > started, "the server was restarted"
    check_clean_failure(failed.value)

    check_no_false_sent_records(settings)
    calls = reminder_calls(settings)
    assert len(calls) == k
    messages = reminder_messages(settings).values()
    assert Counter(m.state for m in messages) == {"sent": k - 1, "pending": ROUND_SIZE - k + 1}
    # The failed send gave its claim back (on a new connection, the server being up again)
    # with its attempt counted, so the next sweep asks the outbox before sending it again.
    (in_doubt,) = [m for m in messages if m.state == "pending" and m.idempotency_key in calls]
    assert in_doubt.attempts == 1

    outcomes = sweep(settings, mailer, FRIDAY, batch=batch)
    assert Counter(o.result for o in outcomes) == {"sent": ROUND_SIZE - k, "recovered": 1}
    check_every_reminder_sent_once(settings)
    (recovered,) = [e for e in events(settings, "sent") if e.detail.get("recovered")]
    assert recovered.detail["key"] == in_doubt.idempotency_key


def test_a_restart_between_two_transactions_goes_unnoticed(
    settings: Settings, cluster: Cluster, batch: bool
) -> None:
    mailer = TriggeringOutbox(settings)
    start_round(settings, mailer)
    started = cluster.started_at()
    # No connection is in use while the outbox writes: the pool's pre-ping replaces the
    # dead ones when the send is recorded.
    mailer.after_reminder = lambda n: cluster.restart("fast") if n == 4 else None
    outcomes = sweep(settings, mailer, FRIDAY, batch=batch)
    assert cluster.started_at() > started, "the server was restarted"
    assert [o.result for o in outcomes] == ["sent"] * ROUND_SIZE
    check_every_reminder_sent_once(settings)


def test_a_send_left_unrecorded_while_postgresql_is_down_is_recovered_not_resent(
    settings: Settings, cluster: Cluster, batch: bool
) -> None:
    mailer = TriggeringOutbox(settings)
    start_round(settings, mailer)
    started = cluster.started_at()
    k = 10
    # As a crash would: the server goes away after the 10th reminder and stays down until
    # the sweep has failed, so neither marking it sent nor giving the claim back can work.
    mailer.after_reminder = lambda n: cluster.stop("immediate") if n == k else None
    owner = dead_process_owner()
    try:
        with pytest.raises(OperationalError) as failed:
            sweep(settings, mailer, FRIDAY, batch=batch, owner=owner)
    finally:
        cluster.start()
    assert cluster.started_at() > started, "the server was restarted"
    assert isinstance(failed.value.orig, psycopg.OperationalError), repr(failed.value.orig)

    check_no_false_sent_records(settings)
    calls = reminder_calls(settings)
    assert len(calls) == k
    messages = reminder_messages(settings).values()
    # One by one, only the message in hand was claimed; a batch claims all of them first.
    left = ROUND_SIZE - k + 1
    expected = {"sending": left} if batch else {"sending": 1, "pending": left - 1}
    assert Counter(m.state for m in messages) == {"sent": k - 1, **expected}
    assert {m.claimed_by for m in messages if m.state == "sending"} == {owner}
    (in_doubt,) = [m for m in messages if m.state == "sending" and m.idempotency_key in calls]

    # The flow run that held the claims has exited, so the next sweep takes them over at
    # once, finds the one in doubt in the outbox and records it instead of sending it again.
    outcomes = sweep(settings, mailer, FRIDAY, batch=batch)
    assert Counter(o.result for o in outcomes) == {"sent": ROUND_SIZE - k, "recovered": 1}
    check_every_reminder_sent_once(settings)
    (recovered,) = [e for e in events(settings, "sent") if e.detail.get("recovered")]
    assert recovered.detail["key"] == in_doubt.idempotency_key
