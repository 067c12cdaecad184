"""Run the real `remiss` command in subprocesses, as a user would."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from remiss.core.dates import add_working_days
from remiss.core.settings import load_settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Event, OutgoingMessage
from tests.conftest import POSTGRES_URL, ROOT, _admin_conninfo, drop_database
from tests.support.graph_server import App, GraphServer
from tests.support.processes import prefect_server
from tests.support.worlds import World

REMISS = Path(sys.executable).parent / "remiss"

RunCli = Callable[..., subprocess.CompletedProcess[str]]
GRAPH_BOX = "remiss@stockholm.example"


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared so that Prefect's own database is migrated once, not per test.
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture
def cli_env(tmp_path: Path, prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REMISS_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        REMISS_DATA_DIR=str(tmp_path / "data"),
        REMISS_BASE_URL="https://remiss.stockholm.example",
        REMISS_MAIL_BACKEND="tests.support.mailers:recording_outbox",
    )
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> RunCli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REMISS), *args],
            env=env or cli_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


def status_json(run_cli: RunCli, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_cli("status", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@contextmanager
def fresh_prefect_database() -> Iterator[str]:
    """A new PostgreSQL database for a Prefect server of the test's own; its URL."""
    name = f"prefect_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        drop_database(name)


@pytest.fixture
def prefect_database(postgres_available: None) -> Iterator[str]:
    with fresh_prefect_database() as url:
        yield url


def in_flight(env: dict[str, str]) -> int:
    """Messages claimed by a worker and not marked sent: what a kill leaves behind."""
    with session_scope(load_settings(env).database_url) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutgoingMessage)
                .where(OutgoingMessage.state == "sending")
            )
            or 0
        )


def recovered_sends(env: dict[str, str]) -> int:
    """Messages a re-run found already sent by the mail server rather than sending again."""
    with session_scope(load_settings(env).database_url) as session:
        return sum(
            1
            for e in session.scalars(select(Event).where(Event.kind == "sent"))
            if e.detail.get("recovered")
        )


def kill_workers_at(
    runs: Sequence[list[str]],
    targets: Sequence[int],
    sent: Callable[[], int],
    *,
    env: dict[str, str],
    logs: Path,
    rng: random.Random,
) -> list[int]:
    """Each of `runs` started as the real `remiss` worker and killed with SIGKILL (its whole
    session) once `sent()` reached its target, plus a random moment up to a tenth of a
    second later; the messages each kill left in flight."""
    left_in_flight = []
    for i, (args, target) in enumerate(zip(runs, targets, strict=True)):
        log = (logs / f"worker-{i}.log").open("wb")
        worker = subprocess.Popen(
            [str(REMISS), *args],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while sent() < target:
                assert worker.poll() is None, f"worker {i} ended before its kill: see {log.name}"
                assert time.monotonic() < deadline, f"worker {i} did not reach {target} sent"
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.1))
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            log.close()
        left_in_flight.append(in_flight(env))
    return left_in_flight


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    """The Graph test server in this process, with the remiss mailbox and an app limited
    to it; it outlives the `remiss` processes a test kills."""
    apps = {"remiss-app": App("app-hemlighet", mailboxes=(GRAPH_BOX,))}
    with GraphServer(apps, mailboxes=[GRAPH_BOX]) as server:
        yield server


def graph_env(graph: GraphServer) -> dict[str, str]:
    """Settings for the `remiss` command against the Graph test server."""
    return {
        "REMISS_MAIL_BACKEND": "graph",
        "REMISS_SENDER_ADDRESS": GRAPH_BOX,
        "REMISS_GRAPH_URL": graph.url,
        "REMISS_GRAPH_AUTHORITY": graph.authority,
        "REMISS_GRAPH_TENANT_ID": graph.tenant,
        "REMISS_GRAPH_CLIENT_ID": "remiss-app",
        "REMISS_GRAPH_CA_FILE": str(graph.ca_file),
        "REMISS_GRAPH_SECRET": "app-hemlighet",
    }


@contextmanager
def kill_test_env(
    cli_env: dict[str, str], world: World, logs: Path, **settings: str
) -> Iterator[dict[str, str]]:
    """The environment of a test that kills commands: a Prefect server of its own, the
    world's register, and room in the mail limit, since a killed command's slots stay
    leased until their leases run out (a minute) and re-runs would wait on them."""
    with prefect_server(cli_env, logs / "prefect-server.log") as api:
        yield dict(
            cli_env,
            PREFECT_API_URL=api,
            REMISS_REGISTER=str(world.register),
            REMISS_MAIL_CONCURRENCY="60",
            **settings,
        )


def reminders_after_deadline(
    run_cli: RunCli, env: dict[str, str], deadline: str
) -> tuple[set[int], Counter[int]]:
    """`remiss remind` a working day after the deadline: the dispatches with an answer (in
    these tests, all e-mailed and unreviewed) and the reminders each has got."""
    late = add_working_days(dt.date.fromisoformat(deadline), 1)
    reminded = run_cli("remind", "--as-of", f"{late.isoformat()} 09:00", env=env)
    assert reminded.returncode == 0, reminded.stdout + reminded.stderr
    with session_scope(load_settings(env).database_url) as session:
        answered = set(session.scalars(select(Answer.dispatch_id)))
        reminders = Counter(
            m.dispatch_id
            for m in session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.kind.startswith("paminnelse_"))
            )
        )
    return answered, reminders
