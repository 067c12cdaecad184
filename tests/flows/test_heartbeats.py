"""flows/heartbeats.py: a flow run still beats, and its heartbeat thread ends with it."""

from __future__ import annotations

import threading
import time

import prefect.flow_engine
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.runtime import flow_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows import heartbeats
from flows.automations import HEARTBEAT_SECONDS


@flow(name="hjärtslag-prov")
def beating() -> str:
    return str(flow_run.id)


def heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "flow-run-heartbeat"]


def heartbeats_of(run_id: str) -> int:
    with get_client(sync_client=True) as client:
        page = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": EventFilter(
                    event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                    resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
                ).model_dump(mode="json"),
                "limit": 10,
            },
        ).json()
    return len(page["events"])


def test_the_flows_package_puts_its_heartbeats_in_place_of_prefects() -> None:
    assert prefect.flow_engine._send_heartbeats is heartbeats.send_heartbeats


def test_a_flow_run_sends_a_heartbeat_and_its_thread_is_gone_when_it_returns() -> None:
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS}):
        run_id = beating()
    # Joined when the run ended, not left sleeping until its next beat.
    assert heartbeat_threads() == []
    # Events reach the server's store a moment after they are sent.
    deadline = time.monotonic() + 30
    while heartbeats_of(run_id) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert heartbeats_of(run_id) >= 1


def test_install_refuses_a_prefect_whose_engine_has_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(prefect.flow_engine.BaseFlowRunEngine, "_emit_flow_run_heartbeat")
    with pytest.raises(RuntimeError, match="_emit_flow_run_heartbeat"):
        heartbeats.install()
