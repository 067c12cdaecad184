"""Run the real `remiss` command in subprocesses, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, ROOT, _admin_conninfo, drop_database

REMISS = Path(sys.executable).parent / "remiss"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


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
