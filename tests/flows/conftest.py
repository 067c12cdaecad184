"""A real Prefect server for the flow tests, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

import flows.messages as messages_module
from flows import retries
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def settings(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    """Settings the flows read from the environment, with the recording outbox and no waits
    between retries."""
    env = {
        "REMISS_DATA_DIR": str(tmp_path / "data"),
        "REMISS_BASE_URL": "https://remiss.stockholm.example",
        "REMISS_MAIL_BACKEND": "tests.support.mailers:recording_outbox",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(retries, "MAIL_RETRY_DELAYS", (0, 0, 0, 0))
    monkeypatch.setattr(
        messages_module,
        "send_batch_task",
        messages_module.send_batch_task.with_options(retry_delay_seconds=0),
    )
    s = make_settings(REMISS_MAIL_BACKEND=env["REMISS_MAIL_BACKEND"])
    rounds_start.init(s, now=utcnow())
    return s
