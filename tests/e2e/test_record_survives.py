"""The record survives a running portal's worst (issue 24), over HTTP against `remiss portal`:

- two posts of the same answer form at the same moment store one answer;
- `kill -9` at random points of a 9 MB upload, again and again: the next start's recovery
  leaves no debris, and the official's resend of the same form doubles nothing;
- a backup taken while answers are being posted restores to another path with every answer
  and file, and `remiss check` passes on it.

The figures (trials, debris before and after recovery, doubled answers) are printed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from remiss.core.settings import Settings, load_settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Document
from remiss.storage.documents import relative_path, temp_dir
from remiss.storage.recovery import find_debris
from tests.conftest import EXAMPLE_CASE
from tests.e2e.conftest import REMISS
from tests.support.documents import pdf_bytes
from tests.support.net import free_port, wait_until
from tests.support.rounds import start_and_send

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
RECIPIENTS = ["socialnamnden", "servicenamnden", "bromma", "farsta", "kpr"]
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def big_pdf(megabytes: int, seed: int) -> bytes:
    """A PDF that pdfium opens, padded after its end to `megabytes` (a scanned answer)."""
    padding = random.Random(seed).randbytes(megabytes * 1024 * 1024)
    return pdf_bytes(f"Svar {seed}") + b"\n%" + padding.replace(b"\n", b" ").replace(b"\r", b" ")


@dataclass
class Running:
    url: str
    settings: Settings
    env: dict[str, str]
    tokens: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        self.process = subprocess.Popen(
            [str(REMISS), "portal", "--port", str(port)],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._up, "the portal", timeout=60)

    def _up(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()
        try:
            return httpx.get(f"{self.url}/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def running(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Running]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **cli_env,
        "REMISS_BASE_URL": url,
        # The answer handed on as an event, to a Prefect that is not there: what happens
        # after the answer is stored is not what these tests are about.
        "REMISS_ANSWER_TRIGGER": "event",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
        "REMISS_STORAGE_GRACE_MINUTES": "1",
        "REMISS_UPLOAD_MAX_FILE_MB": "25",
    }
    settings = load_settings(env)
    tokens = start_and_send(settings, EXAMPLE_CASE, RECIPIENTS)
    portal = Running(url, settings, env, tokens, tmp_path / "portal.log")
    portal.start()
    yield portal
    portal.stop()


def form(client: httpx.Client, token: str) -> dict[str, str]:
    """A fresh rendering of the answer form: its csrf token and submission key."""
    page = client.get(f"/r/{token}")
    assert page.status_code == 200, page.text
    csrf = CSRF.search(page.text)
    key = re.search(
        r'action="/r/[^"]+/svar"[^>]*>\s*<input[^>]*>\s*<input type="hidden" name="nyckel" '
        r'value="([^"]+)">',
        page.text,
    )
    assert csrf
    assert key
    return {
        "csrf": csrf.group(1),
        "nyckel": key.group(1),
        "stallningstagande": "tillstyrker",
        "sammanfattning": "Nämnden tillstyrker förslaget.",
    }


def post(client: httpx.Client, token: str, data: dict[str, str], pdf: bytes) -> httpx.Response:
    return client.post(
        f"/r/{token}/svar", data=data, files=[("filer", ("svar.pdf", pdf, "application/pdf"))]
    )


def answer_count(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count(Answer.id))) or 0


def debris_bytes(settings: Settings) -> int:
    """Temp files and files no row references, whatever their age."""
    found = find_debris(settings, now=FAR_FUTURE)
    return found.temp_bytes + found.orphan_bytes


def test_two_posts_of_one_answer_form_at_the_same_moment_store_one_answer(
    running: Running,
) -> None:
    token = running.tokens["socialnamnden"]
    with httpx.Client(base_url=running.url, timeout=60) as client:
        data = form(client, token)
        pdf = big_pdf(2, seed=1)
        replies: list[httpx.Response] = []
        barrier = threading.Barrier(2)

        def send() -> None:
            barrier.wait()
            replies.append(post(client, token, data, pdf))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r.status_code for r in replies] == [303, 303]
    assert {r.headers["location"] for r in replies} == {f"/r/{token}/kvitto/1"}
    assert answer_count(running.settings) == 1


def test_kill_9_during_uploads_leaves_no_debris_after_the_next_start_and_no_doubled_answer(
    running: Running,
) -> None:
    trials = 8
    rng = random.Random(24)
    token = running.tokens["socialnamnden"]
    store = running.settings.documents_dir
    pdfs = [big_pdf(9, seed=i) for i in range(trials)]
    before_recovery: list[int] = []
    after_recovery: list[int] = []
    committed_when_killed = 0
    with httpx.Client(base_url=running.url, timeout=120) as client:
        # How long one whole upload takes here (another remissinstans's answer).
        other = running.tokens["kpr"]
        began = time.monotonic()
        assert post(client, other, form(client, other), big_pdf(9, seed=99)).status_code == 303
        whole = time.monotonic() - began
        for trial in range(trials):
            data = form(client, token)
            answers_before = answer_count(running.settings)
            target = store / relative_path(hashlib.sha256(pdfs[trial]).hexdigest())
            sending = threading.Thread(
                target=_post_until_killed, args=(client, token, data, pdfs[trial])
            )
            sending.start()
            # The kill points in turn: while the file is written, just after it is renamed
            # into place (before or after the commit), and anywhere in the upload.
            if trial % 3 == 0:
                _wait_for(lambda: any(temp_dir(store).glob(".tmp-*")), whole * 2)
            elif trial % 3 == 1:
                _wait_for(target.exists, whole * 2)
            else:
                time.sleep(rng.uniform(0.0, whole))
            running.kill()
            sending.join()
            committed_when_killed += answer_count(running.settings) - answers_before
            before_recovery.append(debris_bytes(running.settings))
            # The next start comes after storage_grace_minutes: every file's time set back.
            _age(store)
            running.start()  # `remiss portal` clears what the crash left, then serves
            after_recovery.append(debris_bytes(running.settings))
            # The official sends the same form again (the browser's resend).
            again = post(client, token, data, pdfs[trial])
            assert again.status_code == 303, again.text
            assert answer_count(running.settings) == answers_before + 1
    answers = answer_count(running.settings) - 1  # the timing answer
    doubled = answers - trials
    with session_scope(running.settings.database_url) as session:
        with_files = select(func.count(Document.id)).where(Document.answer_id.is_not(None))
        files = (session.scalar(with_files) or 0) - 1  # not the timing answer's
    print(
        f"\nkill -9 during 9 MB uploads ({whole:.2f} s each): {trials} trials, "
        f"{committed_when_killed} committed before the kill; "
        f"debris before recovery {sum(before_recovery)} bytes "
        f"(per trial {before_recovery}), after recovery {sum(after_recovery)} bytes; "
        f"{answers} answers, {files} files, {doubled} doubled"
    )
    assert after_recovery == [0] * trials
    assert doubled == 0
    assert files == trials


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not condition():
        time.sleep(0.001)


def _age(folder: Path) -> None:
    past = time.time() - 600
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def _post_until_killed(client: httpx.Client, token: str, data: dict[str, str], pdf: bytes) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the portal was killed under it
        post(client, token, data, pdf)


def test_a_backup_taken_while_answers_are_posted_restores_elsewhere_whole(
    running: Running, tmp_path: Path
) -> None:
    assert running.settings.database_url.startswith("sqlite")  # the e2e tests' default
    stop = threading.Event()
    receipts: list[tuple[str, float]] = []

    def keep_answering() -> None:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            n = 0
            while not stop.is_set():
                code = RECIPIENTS[n % len(RECIPIENTS)]
                token = running.tokens[code]
                reply = post(client, token, form(client, token), big_pdf(1, seed=100 + n))
                assert reply.status_code == 303, reply.text
                receipts.append((code, time.monotonic()))
                n += 1

    poster = threading.Thread(target=keep_answering)
    poster.start()
    wait_until(lambda: len(receipts) >= 3, "the first answers", timeout=60)
    started = time.monotonic()
    backup = subprocess.run(
        [str(REMISS), "backup", str(tmp_path / "kopia")],
        env=running.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    finished = time.monotonic()
    wait_until(lambda: any(t > finished for _, t in receipts), "an answer after the backup")
    stop.set()
    poster.join()
    assert backup.returncode == 0, backup.stderr
    assert "Databasen:" in backup.stdout

    # The original gone; the copy is a data folder of its own.
    running.stop()
    restored = tmp_path / "aterstalld"
    (tmp_path / "kopia").rename(restored)
    for leftover in running.settings.data_dir.iterdir():
        if leftover.is_file():
            leftover.unlink()
    env = {
        **running.env,
        "REMISS_DATA_DIR": str(restored),
        "REMISS_DATABASE_URL": f"sqlite:///{restored / 'remiss.db'}",
    }
    check = subprocess.run(
        [str(REMISS), "check"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Allt är i ordning." in check.stdout

    copy = replace(running.settings, data_dir=restored, database_url=env["REMISS_DATABASE_URL"])
    # Every answer whose receipt came before the backup began is in the copy, with its file.
    before = sum(1 for _, t in receipts if t < started)
    with sqlite3.connect(restored / "remiss.db") as db:
        stored = db.execute("SELECT count(*) FROM remissvar").fetchone()[0]
    assert before <= stored <= len(receipts)
    assert answer_count(copy) == stored
    with session_scope(copy.database_url) as session:
        for answer in session.scalars(select(Answer)):
            assert [d.filename for d in answer.documents] == ["svar.pdf"]
            path = restored / "documents" / answer.documents[0].storage_path
            assert path.stat().st_size == answer.documents[0].size
    print(
        f"\nbackup while posting: {len(receipts)} answers posted, {before} before the backup "
        f"began, {stored} in the copy; remiss check passed on the restored copy"
    )
