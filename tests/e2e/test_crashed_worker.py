"""A worker that dies with its flow process part-way through a round: its flow runs end
Crashed, the operator gets an alarm for each, and the mail slot it held comes back.

As in the scale-out set-up: Prefect's server and the application on PostgreSQL, the
deployments from deployments/prefect.yaml, the crash automation from
`python -m flows.automations`, and a process worker started as the docs say. The round's
mail backend hangs after its second message; the worker and its flow process are then
killed with SIGKILL, so nothing is left to tell Prefect how the runs ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from flows.automations import CRASHED_AFTER_SECONDS, HEARTBEAT_ENV, HEARTBEAT_SECONDS, MESSAGE
from flows.messages import MAIL_LIMIT
from tests.conftest import ROOT, future_deadline
from tests.e2e.conftest import RunCli
from tests.support.mailers import send_calls
from tests.support.net import answers_ok, free_port, wait_until
from tests.support.processes import PREFECT, descendants, start, stop

RUNS = ("Remiss KS 2025/348 – start", "Remiss KS 2025/348 – utskick")


def kill_with_everything_below(process: subprocess.Popen[bytes]) -> list[bytes]:
    """SIGKILL to the process, every process below it and their groups; the killed
    processes' environments."""
    below = descendants(process.pid)
    environments = []
    for pid in below:
        with contextlib.suppress(OSError):
            environments.append(Path(f"/proc/{pid}/environ").read_bytes())
    for pid in [process.pid, *below]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    return environments


def test_a_killed_worker_leaves_its_runs_crashed_with_an_alarm(
    cli_env: dict[str, str],
    run_cli: RunCli,
    postgres_url: str,
    prefect_database: str,
    case_dir: Path,
    tmp_path: Path,
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(
        cli_env,
        REMISS_DATABASE_URL=postgres_url,
        REMISS_PROJECT_DIR=str(ROOT),
        PREFECT_API_URL=api,
        PREFECT_HOME=str(tmp_path / "prefect-crash"),
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    # The worker as the docs start it; the first one's mail backend hangs after two messages.
    worker_env = dict(env, **HEARTBEAT_ENV)
    server = start(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        dict(env, PREFECT_API_DATABASE_CONNECTION_URL=prefect_database),
        tmp_path / "server.log",
    )
    workers: list[subprocess.Popen[bytes]] = []
    client = httpx.Client(base_url=api, timeout=10)
    try:
        wait_until(lambda: answers_ok(f"{api}/health"), "Prefect's server on PostgreSQL")
        assert run_cli("init", env=env).returncode == 0
        for args in (
            ["work-pool", "create", "remiss", "--type", "process"],
            # The two deployments this needs; none of them has a schedule to interfere.
            ["--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml",
             "--name", "starta-remissomgang", "--name", "larm"],
        ):  # fmt: skip
            done = subprocess.run(
                [str(PREFECT), *args],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        made = subprocess.run(
            [sys.executable, "-m", "flows.automations"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stdout + made.stderr
        assert f"{CRASHED_AFTER_SECONDS} sekunder" in made.stdout

        workers.append(
            start(
                [str(PREFECT), "worker", "start", "--pool", "remiss"],
                dict(worker_env, REMISS_TEST_HANG_AFTER="2"),
                tmp_path / "worker-1.log",
            )
        )
        deployment = client.get("/deployments/name/starta-remissomgång/starta-remissomgang")
        # prefect.yaml's job variables carry the heartbeat to runs on any worker.
        assert deployment.json()["job_variables"]["env"] == HEARTBEAT_ENV
        run = client.post(
            f"/deployments/{deployment.json()['id']}/create_flow_run",
            json={
                "parameters": {
                    "case_path": str(case_dir / "arende.yaml"),
                    "to": ["rad"],
                    "deadline": future_deadline().isoformat(),
                }
            },
        ).json()

        def all_runs(**flow_runs: Any) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = client.post(
                "/flow_runs/filter", json={"flow_runs": flow_runs}
            ).json()
            return found

        def runs(**flow_runs: Any) -> dict[str, dict[str, Any]]:
            return {r["name"]: r for r in all_runs(**flow_runs)}

        # Two remissmissiv gone, the third one hanging in the mail server's call.
        outbox = Path(env["REMISS_DATA_DIR"]) / "outbox"
        wait_until(lambda: sum(send_calls(outbox).values()) >= 2, "two sends", timeout=180)

        def both_running() -> dict[str, dict[str, Any]] | None:
            found = runs(state={"type": {"any_": ["RUNNING"]}})
            return found if found.keys() >= set(RUNS) else None

        running = wait_until(both_running, "the start and utskick runs, Running")
        slots = client.get(f"/v2/concurrency_limits/{MAIL_LIMIT}").json()
        assert slots["active_slots"] >= 1, slots
        environments = kill_with_everything_below(workers[0])
        killed_at = time.monotonic()
        # The flow process beat every HEARTBEAT_SECONDS.
        beat = f"\0PREFECT_FLOWS_HEARTBEAT_FREQUENCY={HEARTBEAT_SECONDS}\0".encode()
        assert any(beat in b"\0" + e for e in environments), "no flow process with heartbeats"

        # A worker for the alarms; without the hang.
        workers.append(
            start(
                [str(PREFECT), "worker", "start", "--pool", "remiss"],
                worker_env,
                tmp_path / "worker-2.log",
            )
        )

        def crashed() -> dict[str, dict[str, Any]] | None:
            found = runs(id={"any_": [r["id"] for r in running.values()]})
            done = all(found[name]["state_type"] == "CRASHED" for name in RUNS)
            return found if done else None

        # The last heartbeat came at most HEARTBEAT_SECONDS before the kill; the server looks
        # for missed ones every 5 s.
        ended = wait_until(crashed, "the runs, Crashed", timeout=CRASHED_AFTER_SECONDS + 30)
        took = time.monotonic() - killed_at
        assert took >= CRASHED_AFTER_SECONDS - HEARTBEAT_SECONDS - 5, took
        for name in RUNS:
            assert ended[name]["state"]["message"] == MESSAGE
        assert ended[RUNS[0]]["id"] == run["id"]

        # One alarm per crashed run, sent by the second worker through the larm deployment.
        def alarms() -> list[dict[str, Any]] | None:
            done = all_runs(state={"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}})
            found = [r for r in done if r["parameters"].get("subject")]
            return found if len(found) >= len(RUNS) else None

        sent = wait_until(alarms, "the alarms", timeout=120)
        assert sorted(r["parameters"]["subject"] for r in sent) == [
            f"Flödeskörningen {name} avbröts (processen dog)" for name in RUNS
        ]
        for alarm in sent:
            assert alarm["state_type"] == "COMPLETED"
            assert MESSAGE in alarm["parameters"]["text"]
        assert len(list(outbox.glob("larm*.eml"))) == len(RUNS)

        # The dead process's mail slot came back when its lease ran out (60 s, then the
        # server's reaper, every 15 s).
        wait_until(
            lambda: client.get(f"/v2/concurrency_limits/{MAIL_LIMIT}").json()["active_slots"] == 0,
            "the mail slot back",
            timeout=max(5, 60 + 15 + 5 - (time.monotonic() - killed_at)),
        )
    finally:
        client.close()
        for worker in workers:
            stop(worker)
        stop(server)
