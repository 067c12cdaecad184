"""Claims under real concurrency, on SQLite and on PostgreSQL: processes that send the
same round at once, and senders whose claims outlive the lease (issue 23)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.mail import OutgoingEmail
from remiss.outbox.outcomes import PROBLEMS, SendOutcome, SendResult, summary, tally
from remiss.outbox.sending import send_batch
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory, future_deadline
from tests.support.mailers import RecordingOutbox, send_calls

PROCESSES = 4


class SlowOutbox(RecordingOutbox):
    """The recording outbox, 20 ms per message: long enough for the senders to overlap."""

    def send(self, message: OutgoingEmail) -> str:
        time.sleep(0.02)
        return super().send(message)


def _send_round(settings: Settings, ids: list[int], start: threading.Event) -> list[str]:
    """One process: wait for the others, then send the whole round in batches of five."""
    start.wait()
    mailer = SlowOutbox(settings)
    results = []
    for i in range(0, len(ids), 5):
        outcomes = send_batch(ids[i : i + 5], settings=settings, mailer=mailer, now=utcnow())
        results += [o.result.value for o in outcomes]
    return results


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=utcnow())
    return s


def _round(settings: Settings, case_dir: Path) -> list[int]:
    round_id = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=utcnow(), deadline=future_deadline().isoformat()
    )
    return rounds_start.pending_missiv(settings, round_id)


def test_processes_sending_the_same_round_at_once_send_each_message_once_and_count_each_other(
    settings: Settings, case_dir: Path
) -> None:
    ids = _round(settings, case_dir)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        start = manager.Event()
        pending = [pool.apply_async(_send_round, (settings, ids, start)) for _ in range(PROCESSES)]
        time.sleep(1)  # every process has started and waits for the same moment
        start.set()
        per_process = [p.get(timeout=120) for p in pending]

    calls = send_calls(settings.outbox_dir)
    assert len(calls) == len(ids)
    assert set(calls.values()) == {1}, calls
    results = Counter(r for process in per_process for r in process)
    assert not any(results[p.value] for p in PROBLEMS), results
    assert results["sent"] == len(ids), "each message counted once as sent, by its sender"
    # Every process accounts for every message: sent itself, or seen with another.
    assert all(len(process) == len(ids) for process in per_process)
    assert sum(1 for process in per_process if "sent" in process) >= 2, "they overlapped"


def test_the_sums_say_what_another_process_did(settings: Settings, case_dir: Path) -> None:
    """Two senders at once: what one sent, the other reports as sent by another process,
    never as a failure."""
    ids = _round(settings, case_dir)
    outcomes: dict[str, list[str]] = {}

    def sender(name: str) -> None:
        done = send_batch(ids, settings=settings, mailer=SlowOutbox(settings), now=utcnow())
        outcomes[name] = [o.result.value for o in done]

    threads = [threading.Thread(target=sender, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = Counter(outcomes["a"]) + Counter(outcomes["b"])
    assert both["sent"] == len(ids)
    assert set(both) <= {"sent", "busy", "already_sent", "by_other"}
    loser = min(outcomes, key=lambda n: outcomes[n].count("sent"))
    text = summary(Counter(outcomes[loser]))
    assert "kunde inte" not in text.lower()


def test_the_summary_names_each_outcome_in_swedish() -> None:
    outcomes = [SendOutcome(1, SendResult.SENT)] * 3 + [SendOutcome(2, SendResult.BY_OTHER)] * 44
    assert summary(tally(outcomes)) == (
        "Skickade nu: 3. Skickades av en annan process under tiden: 44."
    )
    assert summary({}) == "Inget behövde skickas."
