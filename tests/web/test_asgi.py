"""The answer page as an ASGI factory, for uvicorn with several worker processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from remiss.core.dates import utcnow
from remiss.rounds import start as rounds_start
from tests.conftest import ROOT, SettingsFactory


def test_uvicorn_serves_the_factory_with_several_workers(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    rounds_start.init(make_settings(), now=utcnow())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PATH": str(Path(sys.executable).parent),
        "PYTHONPATH": str(ROOT),
        "REMISS_DATA_DIR": str(tmp_path / "data"),
        "REMISS_ANSWER_TRIGGER": "event",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "remiss.cli.portal_app:create",
         "--workers", "2", "--port", str(port), "--no-access-log"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/r/okand-lank", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answer.status_code == 404
        assert "Sidan finns inte" in answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)
