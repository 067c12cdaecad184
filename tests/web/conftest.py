"""The answer page in-process (FastAPI's TestClient), with a round whose links work."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from remiss.core.settings import Settings
from remiss.web.app import create_app
from tests.conftest import SettingsFactory
from tests.support.rounds import start_and_send

RECIPIENTS = ["socialnamnden", "servicenamnden", "bromma", "farsta", "kpr"]


@dataclass
class RecordedJobs:
    """The workspace's hand-off to Prefect, recorded (the flows themselves are tested in
    tests/flows and tests/e2e): which jobs an action handed on, with their ids."""

    submitted: list[tuple[str, dict[str, int]]] = field(default_factory=list)

    def submit(self, name: str, **params: int) -> None:
        from remiss.cli.portal_app import JOBS

        assert name in JOBS, name
        self.submitted.append((name, params))


@dataclass
class Portal:
    settings: Settings
    client: TestClient
    tokens: dict[str, str]
    triggered: list[int] = field(default_factory=list)
    jobs: RecordedJobs = field(default_factory=RecordedJobs)

    def csrf(self, token: str) -> str:
        page = self.client.get(f"/r/{token}")
        assert page.status_code == 200
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match
        return match.group(1)


@pytest.fixture
def make_portal(
    make_settings: SettingsFactory, database_url: str, case_dir: Path
) -> Iterator[Callable[..., Portal]]:
    clients: list[TestClient] = []

    def factory(trigger: Callable[[int], None] | None = None, **extra: str) -> Portal:
        settings = make_settings(database_url, **extra)
        tokens = start_and_send(settings, case_dir / "arende.yaml", RECIPIENTS)
        triggered: list[int] = []

        def record(answer_id: int) -> None:
            triggered.append(answer_id)
            if trigger:
                trigger(answer_id)

        jobs = RecordedJobs()
        client = TestClient(
            create_app(settings, trigger=record, jobs=jobs),
            base_url="https://testserver",  # the CSRF cookie is Secure, as base_url is https
            follow_redirects=False,
            client=("127.0.0.1", 50000),  # as a reverse proxy on the same host
        )
        clients.append(client)
        return Portal(settings, client, tokens, triggered, jobs)

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def portal(make_portal: Callable[..., Portal]) -> Portal:
    return make_portal()
