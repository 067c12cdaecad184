"""The worker killed with SIGKILL at ten random points of a fan-out to 300 remissinstanser
through Microsoft Graph, and re-run each time: every remissinstans gets exactly one remiss.

As tests/e2e/test_kill_fanout.py does for EWS: the real `remiss round start` / `remiss round
send` running its Prefect flow against a Prefect server, sending through the real msal and
requests to the Graph test server in this process (tests/support/graph_server.py), which
records every message that left the mailbox. A message is a draft, then a send, so a kill can
land between creating a draft and sending it, between sending it and marking it sent, or
between claims; what an operator would look at afterwards must all agree.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    GRAPH_BOX,
    RunCli,
    graph_env,
    kill_test_env,
    kill_workers_at,
    recovered_sends,
    status_json,
)
from tests.support.graph_server import GraphServer
from tests.support.worlds import World, address, build_world, working_day_ahead

N = 300
KILLS = 10


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path, N, working_day_ahead(6))


@pytest.fixture
def env(
    cli_env: dict[str, str], graph: GraphServer, world: World, tmp_path: Path
) -> Iterator[dict[str, str]]:
    graph.latency = 0.01
    with kill_test_env(
        cli_env, world, tmp_path, **graph_env(graph), REMISS_GRAPH_BATCH_SIZE="10"
    ) as env:
        yield env


def test_a_graph_fan_out_killed_ten_times_sends_each_remiss_exactly_once(
    env: dict[str, str], graph: GraphServer, world: World, run_cli: RunCli, tmp_path: Path
) -> None:
    rng = random.Random(20261207)
    targets = sorted(rng.sample(range(5, N - 10), KILLS))
    start = ["round", "start", str(world.case), "--deadline", world.deadline]
    assert run_cli("init", env=env).returncode == 0
    runs = [start] + [["round", "send", "KS 2026/999"]] * (KILLS - 1)
    left_in_flight = kill_workers_at(
        runs, targets, lambda: len(graph.sent_log), env=env, logs=tmp_path, rng=rng
    )

    finished = run_cli("round", "send", "KS 2026/999", env=env)
    assert finished.returncode == 0, finished.stdout + finished.stderr

    # Every remissinstans got its missiv once, and Graph sent nothing else.
    keys = Counter(str(m.key) for m in list(graph.sent_log))
    assert len(keys) == N
    duplicates = {k: n for k, n in keys.items() if n > 1}
    assert not duplicates, f"sent more than once: {duplicates}"
    to = Counter(r for m in graph.sent_log for r in m.recipients)
    assert to == Counter({address(i): 1 for i in range(1, N + 1)})
    # No draft a kill left behind stays unsent in the mailbox; Sent Items holds each once.
    assert graph.items(GRAPH_BOX, "drafts") == []
    assert len(graph.items(GRAPH_BOX, "sentitems")) == N
    (rnd,) = status_json(run_cli, env=env)["rounds"]
    assert rnd["counts"]["sent"] == N
    assert rnd["counts"]["sending"] == 0

    # The kills hit messages in flight (claimed, perhaps sent, not yet marked), and the
    # re-runs found some of them already sent in the mailbox rather than sending them again.
    assert sum(left_in_flight) > 0, left_in_flight
    assert recovered_sends(env), f"no kill left a message sent but unmarked ({left_in_flight})"
