"""The worker killed with SIGKILL at random points of a fan-out to 300 remissinstanser, ten
times, and re-run each time: every remissinstans gets exactly one remiss.

The worker is the real `remiss round start` / `remiss round send` command running its Prefect
flow against a Prefect server, sending through the real exchangelib to the EWS test server in
this process, which records every message that Exchange would have sent. Batches of 10 and
four sending threads keep claims, calls in flight and marks going at every moment, so that a
kill lands between any two of them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    RunCli,
    kill_test_env,
    kill_workers_at,
    recovered_sends,
    status_json,
)
from tests.support.ews_server import EwsServer, Rights
from tests.support.worlds import World, address, build_world, working_day_ahead

N = 300
KILLS = 10
SENDER = "remiss@stockholm.example"
KEY = "RemissIdempotencyKey"


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    with EwsServer({"svc": "hemligt"}, {"svc": Rights(delegate=[SENDER])}) as server:
        server.latency = 0.02
        yield server


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path, N, working_day_ahead(6))


@pytest.fixture
def env(
    cli_env: dict[str, str], ews: EwsServer, world: World, tmp_path: Path
) -> Iterator[dict[str, str]]:
    with kill_test_env(
        cli_env,
        world,
        tmp_path,
        REMISS_MAIL_BACKEND="exchange",
        REMISS_EWS_URL=ews.url,
        REMISS_EWS_AUTH="basic",
        REMISS_EWS_USERNAME="svc",
        REMISS_EWS_SECRET="hemligt",
        REMISS_EWS_BATCH_SIZE="10",
    ) as env:
        yield env


def sent_keys(ews: EwsServer) -> Counter[str]:
    return Counter(str(m.extended_properties.get(KEY)) for m in list(ews.sent_log))


def test_a_fan_out_killed_ten_times_sends_each_remiss_exactly_once(
    env: dict[str, str], ews: EwsServer, world: World, run_cli: RunCli, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    # Kill points spread over the whole fan-out: once this many had left Exchange, plus a
    # random moment up to a tenth of a second later.
    targets = sorted(rng.sample(range(5, N - 10), KILLS))
    start = ["round", "start", str(world.case), "--deadline", world.deadline]
    assert run_cli("init", env=env).returncode == 0
    runs = [start] + [["round", "send", "KS 2026/999"]] * (KILLS - 1)
    left_in_flight = kill_workers_at(
        runs, targets, lambda: len(ews.sent_log), env=env, logs=tmp_path, rng=rng
    )

    finished = run_cli("round", "send", "KS 2026/999", env=env)
    assert finished.returncode == 0, finished.stdout + finished.stderr

    keys = sent_keys(ews)
    assert len(keys) == N
    duplicates = {k: n for k, n in keys.items() if n > 1}
    assert not duplicates, f"sent more than once: {duplicates}"
    to = Counter(r for m in ews.sent_log for r in m.recipients)
    assert to == Counter({address(i): 1 for i in range(1, N + 1)})
    (rnd,) = status_json(run_cli, env=env)["rounds"]
    assert rnd["counts"]["sent"] == N
    assert rnd["counts"]["sending"] == 0

    # The kills hit messages in flight (claimed, perhaps sent, not yet marked), and the
    # re-runs found some of those already sent in Exchange's Sent Items rather than
    # sending them again.
    assert sum(left_in_flight) > 0, left_in_flight
    assert recovered_sends(env), f"no kill left a message sent but unmarked ({left_in_flight})"
