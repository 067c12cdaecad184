"""The start-round flow through a real Prefect server."""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import select

from flows.start_round import RoundIncomplete, send_round, start_round
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.core.states import DispatchState, MessageState
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch, OutgoingMessage, Round
from remiss.rounds import start as rounds_start
from remiss.rounds.status import status_document, table_rows
from tests.conftest import future_deadline
from tests.support.mailers import send_calls

DEADLINE = future_deadline().isoformat()


def dispatch_states(settings: Settings, round_id: int) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        rnd = session.get_one(Round, round_id)
        return {d.remissinstans.code: d.state for d in rnd.dispatches}


def test_start_round_sends_one_missiv_per_remissinstans(settings: Settings, case_dir: Path) -> None:
    round_id = start_round(str(case_dir / "arende.yaml"), deadline=DEADLINE)
    states = dispatch_states(settings, round_id)
    assert len(states) == 18
    assert set(states.values()) == {"sent"}
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 18
    assert set(send_calls(settings.outbox_dir).values()) == {1}

    # Running the send flow again sends nothing more.
    assert send_round(round_id) == {}
    assert sum(send_calls(settings.outbox_dir).values()) == 18


def test_to_option_narrows_the_recipients(settings: Settings, case_dir: Path) -> None:
    round_id = start_round(
        str(case_dir / "arende.yaml"), to=["bolag", "socialnamnden"], deadline=DEADLINE
    )
    states = dispatch_states(settings, round_id)
    assert {"socialnamnden", "svenska_bostader"} <= set(states)
    assert "bromma" not in states
    assert len(list(settings.outbox_dir.glob("*.eml"))) == len(states)


def test_temporary_failures_are_retried_by_prefect(
    settings: Settings, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_TEST_FLAKY", "1")
    round_id = start_round(str(case_dir / "arende.yaml"), deadline=DEADLINE, to=["rad"])
    assert set(dispatch_states(settings, round_id).values()) == {"sent"}
    assert set(send_calls(settings.outbox_dir).values()) == {1}
    with session_scope(settings.database_url) as session:
        for d in session.get_one(Round, round_id).dispatches:
            assert [e.kind for e in d.events] == ["created", "send_retry", "sent"]


def test_permanent_failure_fails_the_flow_and_shows_in_status(
    settings: Settings, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_TEST_FAIL_KEYS", "/kpr/")
    with pytest.raises(RoundIncomplete, match="1 av 5 utskick"):
        start_round(str(case_dir / "arende.yaml"), deadline=DEADLINE, to=["rad"])
    with session_scope(settings.database_url) as session:
        rnd = session.query(Round).one()
        failed = [d for d in rnd.dispatches if d.state == "failed"]
        assert [d.remissinstans.code for d in failed] == ["kpr"]
        assert all(isinstance(d, Dispatch) for d in failed)


def test_runs_and_status_table_are_visible_in_prefect(settings: Settings, case_dir: Path) -> None:
    round_id = start_round(str(case_dir / "arende.yaml"), deadline=DEADLINE, to=["valfard"])

    async def read() -> tuple[set[str], list[Any]]:
        async with get_client() as client:
            flows = await client.read_flows()
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[f"remissomgang-{round_id}"])
                ),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
        return {f.name for f in flows}, list(artifacts)

    # In a thread of its own: another test's Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        flow_names, artifacts = pool.submit(lambda: asyncio.run(read())).result()
    assert {"starta-remissomgång", "skicka-remissomgång"} <= flow_names
    assert artifacts, "the round's status table is published as an artifact"
    table = json.loads(str(artifacts[0].data))
    assert {row["Remissinstans"] for row in table} == {
        "Arbetsmarknadsnämnden",
        "Socialnämnden",
        "Äldrenämnden",
    }
    assert {row["Status"] for row in table} == {"skickad"}


def test_a_round_another_process_is_sending_is_counted_not_failed(
    settings: Settings, case_dir: Path
) -> None:
    """Issue 23: `round send` beside a worker that was sending the same round printed a
    traceback and "47 av 47 … kunde inte skickas nu" while the worker sent all 47."""
    round_id = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=utcnow(), deadline=DEADLINE, to=["rad"]
    )
    with session_scope(settings.database_url) as session:  # a live worker holds them all
        for message in session.scalars(select(OutgoingMessage)):
            message.state = MessageState.SENDING
            message.attempts, message.claimed_by = 1, "worker-host:4242"
            message.claimed_at = message.claim_renewed_at = utcnow()
            message.dispatch.state = DispatchState.SENDING

    state = send_round(round_id, return_state=True)

    assert state.is_completed(), state.message
    assert state.result() == {"busy": 5}
    assert send_calls(settings.outbox_dir) == {}
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=utcnow(), tz=settings.timezone)
    rows = table_rows(doc["rounds"][0], settings.timezone)
    assert all(row[1].startswith("skickas av worker-host:4242 sedan ") for row in rows)
    assert all(", senast aktiv " in row[1] for row in rows)  # its last heartbeat


def test_a_round_that_did_not_go_out_fails_with_one_swedish_line_and_no_traceback(
    settings: Settings, case_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    round_id = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=utcnow(), deadline=DEADLINE, to=["rad"]
    )
    os.environ["REMISS_TEST_FAIL_KEYS"] = "/"
    try:
        state = send_round(round_id, return_state=True)
    finally:
        del os.environ["REMISS_TEST_FAIL_KEYS"]

    assert state.is_failed()
    assert state.message == (
        f"5 av 5 utskick i omgång {round_id} har inte gått iväg. Kunde inte skickas alls "
        "(mottagaren eller meddelandet nekades): 5. Se `remiss status "
        f"{round_id}`."
    )
    assert state.message in caplog.text
    assert "Traceback" not in caplog.text
    assert "Encountered exception" not in caplog.text
    with pytest.raises(RoundIncomplete):
        state.result()
