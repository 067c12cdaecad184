"""Shared fixtures: settings in a temporary data folder, on SQLite and on PostgreSQL.

PostgreSQL is required, not optional: `.ci/run` starts it, and a test that cannot
reach it fails with a message saying how to start it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from remiss.core.dates import is_working_day, local_today, utcnow
from remiss.core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CASE = ROOT / "examples" / "KS-2025-348" / "arende.yaml"
POSTGRES_URL = os.environ.get(
    "REMISS_TEST_POSTGRES_URL", "postgresql+psycopg://remiss:remiss@127.0.0.1:5432/postgres"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI nothing may be skipped: a skip there is a failure, with its reason."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {report.longrepr}"


def _admin_conninfo() -> str:
    url = make_url(POSTGRES_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_available() -> None:
    try:
        with psycopg.connect(_admin_conninfo(), connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for these tests and is not reachable at {POSTGRES_URL}: "
            f"{exc}. Start it (`pg_ctlcluster 15 main start`, then create the role as .ci/run "
            "does) or set REMISS_TEST_POSTGRES_URL."
        )


@pytest.fixture
def postgres_url(postgres_available: None) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"remiss_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    from remiss.db.engine import get_engine

    get_engine(url).dispose()
    drop_database(name)


def drop_database(name: str) -> None:
    """Drop a test database; an autovacuum worker in it may hold it for a moment."""
    for attempt in range(10):
        try:
            with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == 9:
                raise
            time.sleep(0.5)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'remiss.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


SettingsFactory = Callable[..., Settings]


def future_deadline(weeks: int = 8) -> dt.date:
    """A working day some weeks ahead of the real today, for tests that run on the real clock."""
    day = local_today(utcnow()) + dt.timedelta(weeks=weeks)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def settings_in_environment(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str
) -> Settings:
    """Settings set in the environment too (a flow's task loads its own), without any of
    the test mailers' switches that another test may have left."""
    for name in (
        "REMISS_TEST_HANG_AFTER",
        "REMISS_TEST_HANG_BEFORE",
        "REMISS_TEST_FAIL_KEYS",
        "REMISS_TEST_FLAKY",
        "REMISS_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REMISS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("REMISS_DATABASE_URL", database_url)
    monkeypatch.setenv("REMISS_BASE_URL", "https://remiss.stockholm.example")
    return load_settings()


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    def factory(database_url: str | None = None, **extra: str) -> Settings:
        environ = {
            "REMISS_DATA_DIR": str(tmp_path / "data"),
            "REMISS_BASE_URL": "https://remiss.stockholm.example",
            **extra,
        }
        if database_url:
            environ["REMISS_DATABASE_URL"] = database_url
        return load_settings(environ)

    return factory


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    """A copy of the example case folder that a test may change."""
    target = tmp_path / "case"
    shutil.copytree(EXAMPLE_CASE.parent, target)
    return target
