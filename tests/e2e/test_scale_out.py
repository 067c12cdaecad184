"""Scale-out as documented: Prefect's server on PostgreSQL, the application database on
PostgreSQL, deployments from deployments/prefect.yaml, and a worker in a process of its
own that runs a round."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, future_deadline
from tests.e2e.conftest import RunCli, status_json
from tests.support.net import answers_ok, free_port, wait_until
from tests.support.processes import PREFECT, start, stop


def test_a_round_runs_through_a_separate_worker_on_postgresql(
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
        PREFECT_HOME=str(tmp_path / "prefect-scale-out"),
        PREFECT_WORKER_QUERY_SECONDS="2",
    )
    server_env = dict(env, PREFECT_API_DATABASE_CONNECTION_URL=prefect_database)
    server = start(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        server_env,
        tmp_path / "server.log",
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: answers_ok(f"{api}/health"), "Prefect's server on PostgreSQL")
        assert run_cli("init", env=env).returncode == 0
        pool = subprocess.run(
            [str(PREFECT), "work-pool", "create", "remiss", "--type", "process"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert pool.returncode == 0, pool.stdout + pool.stderr
        deployed = subprocess.run(
            [str(PREFECT), "--no-prompt", "deploy", "--prefect-file",
             "deployments/prefect.yaml", "--all"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        worker = start(
            [str(PREFECT), "worker", "start", "--pool", "remiss"], env, tmp_path / "worker.log"
        )

        deployment = httpx.get(
            f"{api}/deployments/name/starta-remissomgång/starta-remissomgang", timeout=10
        ).json()
        run = httpx.post(
            f"{api}/deployments/{deployment['id']}/create_flow_run",
            json={
                "parameters": {
                    "case_path": str(case_dir / "arende.yaml"),
                    "to": ["rad"],
                    "deadline": future_deadline().isoformat(),
                }
            },
            timeout=10,
        ).json()

        def finished() -> dict[str, Any] | None:
            state = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=10).json()
            return state if state["state_type"] in ("COMPLETED", "FAILED", "CRASHED") else None

        final = wait_until(finished, "the round's flow run on the worker", timeout=240)
        log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        assert final["state_type"] == "COMPLETED", log
        assert final["name"] == "Remiss KS 2025/348 – start"

        doc = status_json(run_cli, env=env)
        assert doc["rounds"][0]["counts"]["sent"] == 5
        outbox = Path(env["REMISS_DATA_DIR"]) / "outbox"
        assert len(list(outbox.glob("*_missiv_0.eml"))) == 5

        automations = httpx.post(f"{api}/automations/filter", json={}, timeout=10).json()
        names = {a["name"] for a in automations}
        assert {"Ett svar har kommit in", "Larm: remissen studsade"} <= names
        answer = next(a for a in automations if a["name"] == "Ett svar har kommit in")
        (action,) = answer["actions"]
        assert action["parameters"] == {"answer_id": "{{ event.payload.answer_id }}"}
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
