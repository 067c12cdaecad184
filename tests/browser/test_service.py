"""`remiss up` as an operator runs it: Prefect's server, the served deployments and the
answer page; a round through it, an answer that triggers the behandla-svar deployment,
and what Prefect's API and UI then show. Stopped with SIGTERM, as a service manager does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from tests.conftest import ROOT, future_deadline
from tests.e2e.conftest import REMISS, RunCli
from tests.support.documents import pdf_bytes
from tests.support.incoming import report
from tests.support.net import answers_ok, free_port, wait_until
from tests.support.rounds import link_in, read_eml

DNR = "KS 2025/348"
SCREENSHOT = ROOT / "data" / "screenshots" / "prefect-flow-run.png"


@pytest.fixture
def service(cli_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    ui, port = free_port(), free_port()
    env = dict(
        cli_env,
        REMISS_BASE_URL=f"http://127.0.0.1:{port}",
        PREFECT_HOME=str(tmp_path / "prefect-up"),
    )
    process = subprocess.Popen(
        [str(REMISS), "up", "--ui-port", str(ui), "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{ui}/api"
    try:
        wait_until(
            lambda: answers_ok(f"{api}/health") and answers_ok(f"http://127.0.0.1:{port}/"),
            "remiss up",
        )
        yield {"env": dict(env, PREFECT_API_URL=api), "api": api, "ui": ui, "port": port,
               "process": process}  # fmt: skip
    finally:
        if process.poll() is None:  # the test failed before its own SIGTERM
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def test_remiss_up_runs_a_round_and_shows_it_in_prefect(
    service: dict[str, Any], run_cli: RunCli, case_dir: Path, browser: Browser
) -> None:
    env = service["env"]
    started = run_cli(
        "round", "start", str(case_dir / "arende.yaml"), "--to", "rad",
        "--deadline", future_deadline().isoformat(), env=env,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    outbox = Path(env["REMISS_DATA_DIR"]) / "outbox"

    # An official answers on the answer page; the page announces it as an event and the
    # behandla-svar deployment, served by `remiss up`, sends the kvittens.
    link = link_in(read_eml(next(outbox.glob("*_kpr_missiv_0.eml"))))
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        form = client.get(link)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        answered = client.post(
            f"{link}/svar",
            data={"csrf": csrf.group(1), "stallningstagande": "tillstyrker"},
            files=[("filer", ("yttrande.pdf", pdf_bytes("Yttrande"), "application/pdf"))],
        )
        assert "Ert svar har tagits emot" in answered.text
    wait_until(lambda: list(outbox.glob("*_kpr_kvittens_1.eml")), "the kvittens", timeout=180)

    # A remiss bounces: the mailbox poll reports it, and the larm automation mails the
    # operator through the served larm deployment.
    inbox = Path(env["REMISS_DATA_DIR"]) / "inbox"
    inbox.mkdir()
    original = read_eml(next(outbox.glob("*_konstradet_missiv_0.eml")))
    (inbox / "studs.eml").write_bytes(report(original, action="failed"))
    polled = run_cli("inbox", "poll", env=env)
    assert polled.returncode == 0, polled.stderr
    alert = wait_until(lambda: list(outbox.glob("larm*.eml")), "the operator's alert", timeout=180)
    assert "Remissen studsade: Stockholms konstråd" in str(read_eml(alert[0])["Subject"])

    api = service["api"]

    def read() -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
        runs = httpx.post(
            f"{api}/flow_runs/filter",
            json={"flow_runs": {"tags": {"all_": [DNR]}}},
            timeout=10,
        ).json()
        artifacts = httpx.post(f"{api}/artifacts/filter", json={}, timeout=10).json()
        events = httpx.post(
            f"{api}/events/filter",
            json={"filter": {"event": {"prefix": ["remiss."]}}, "limit": 50},
            timeout=10,
        ).json()["events"]
        return runs, [a["key"] for a in artifacts if a.get("key")], events

    def everything() -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]] | None:
        runs, keys, events = read()
        names = {e["event"] for e in events}
        return (runs, keys, events) if "remiss.dispatch.answered" in names else None

    runs, keys, events = wait_until(everything, "the events in Prefect")
    by_name = {r["name"]: r for r in runs}
    assert f"Remiss {DNR} – utskick" in by_name
    assert f"Svar från Kommunala pensionärsrådet – {DNR}" in by_name
    assert by_name[f"Svar från Kommunala pensionärsrådet – {DNR}"]["deployment_id"] is not None
    assert {"remissomgang-1", "remissomgang-1-svar", "remissomgang-1-dokument"} <= set(keys)
    assert {"remiss.dispatch.sent", "remiss.answer.received"} <= {e["event"] for e in events}

    # The schedules work: the sweep, the mailbox poll and the reminders have runs ahead.
    def scheduled() -> set[str]:
        runs = httpx.post(
            f"{api}/flow_runs/filter",
            json={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}},
            timeout=10,
        ).json()
        flows = {r["flow_id"] for r in runs}
        names = httpx.post(f"{api}/flows/filter", json={}, timeout=10).json()
        return {f["name"] for f in names if f["id"] in flows}

    expected = {"svep-svar-och-meddelanden", "läs-brevlådan", "påminnelser"}
    wait_until(lambda: expected <= scheduled(), "scheduled runs")

    # The round's flow run in Prefect's UI, as an operator sees it.
    run = by_name[f"Remiss {DNR} – utskick"]
    ui = browser.new_page(viewport={"width": 1400, "height": 900})
    ui.goto(f"http://127.0.0.1:{service['ui']}/runs/flow-run/{run['id']}")
    ui.get_by_text(f"Remiss {DNR} – utskick").first.wait_for(timeout=60_000)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    ui.screenshot(path=str(SCREENSHOT), full_page=True)
    ui.close()

    process = service["process"]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    assert "Stoppad." in output
    assert not answers_ok(f"{service['api']}/health")
    assert not answers_ok(f"http://127.0.0.1:{service['port']}/")
