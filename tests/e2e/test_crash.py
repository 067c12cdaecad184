"""Kill the process in the middle of a fan-out; the re-run sends what is missing, once."""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import time
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from remiss.core.settings import load_settings
from remiss.core.tokens import hash_token
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch, Event
from tests.conftest import ROOT, future_deadline
from tests.e2e.conftest import REMISS, RunCli, status_json
from tests.support.mailers import SEND_LOG, send_calls


def wait_for(condition: object, timeout: float = 120.0) -> None:
    assert callable(condition)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the fan-out to reach the point of the crash")


@pytest.mark.parametrize(
    ("hang", "sent_before_kill"),
    [
        # Killed after the 5th message was written but before it was marked sent.
        pytest.param("REMISS_TEST_HANG_AFTER", 5, id="after-send-before-mark"),
        # Killed with the 5th message claimed but not yet written.
        pytest.param("REMISS_TEST_HANG_BEFORE", 4, id="after-claim-before-send"),
    ],
)
def test_killed_fan_out_is_completed_by_a_rerun_without_duplicates(
    run_cli: RunCli,
    cli_env: dict[str, str],
    case_dir: Path,
    hang: str,
    sent_before_kill: int,
) -> None:
    data = Path(cli_env["REMISS_DATA_DIR"])
    outbox = data / "outbox"
    assert run_cli("init").returncode == 0
    process = subprocess.Popen(
        [
            str(REMISS),
            "round",
            "start",
            str(case_dir / "arende.yaml"),
            "--deadline",
            future_deadline().isoformat(),
        ],
        env={**cli_env, hang: "5"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        log = data / SEND_LOG
        wait_for(
            lambda: (
                log.exists()
                and len(log.read_text().splitlines()) == 5 - (hang == "REMISS_TEST_HANG_BEFORE")
                and len(list(outbox.glob("*.eml"))) == sent_before_kill
            )
        )
        time.sleep(0.5)  # the hanging send holds the others back; nothing more is written
        assert len(list(outbox.glob("*.eml"))) == sent_before_kill
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and Prefect's temporary server
        process.wait(timeout=30)

    # The crash left claims behind and some remissinstanser without their remiss.
    doc = status_json(run_cli)
    (rnd,) = doc["rounds"]
    assert rnd["counts"]["sent"] < 18
    assert rnd["counts"]["sending"] >= 1

    # Starting the same case again is refused, and says how to finish the sending.
    again = run_cli("round", "start", str(case_dir / "arende.yaml"))
    assert again.returncode == 2
    assert f"remiss round send {rnd['id']}" in again.stderr

    resumed = run_cli("round", "send", str(rnd["id"]))
    assert resumed.returncode == 0, resumed.stderr

    doc = status_json(run_cli)
    assert doc["rounds"][0]["counts"]["sent"] == 18
    calls = send_calls(outbox)
    assert len(calls) == 18
    assert set(calls.values()) == {1}, "no remissinstans got its remiss twice"
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 18

    settings = load_settings({**cli_env})
    with session_scope(settings.database_url) as session:
        hashes = {d.email: d.token_hash for d in session.scalars(select(Dispatch))}
        recovered = [
            e
            for e in session.scalars(select(Event).where(Event.kind == "sent"))
            if e.detail["recovered"]
        ]
    assert len(recovered) == (1 if hang == "REMISS_TEST_HANG_AFTER" else 0)
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(r"/r/([A-Za-z0-9_-]+)", body.get_content())
        assert match
        assert hash_token(match.group(1)) == hashes[str(msg["To"])], "the link in the e-mail works"
