"""Mail backends for tests, loaded through the `module:factory` setting like any plugin.

They wrap the real outbox backend and add what a test needs to observe or provoke:
a log line per `send` call (the outbox alone would hide a second send of the same
key, since it refuses to overwrite), failures, and a hang in which the test kills
the process.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from pathlib import Path

from remiss.core.settings import Settings
from remiss.mail import OutgoingEmail, PermanentMailError, TemporaryMailError
from remiss.mail.outbox import OutboxMailer

SEND_LOG = "send-calls.log"
# The calls for a message that had already gone out: each would be a second copy in its
# recipient's inbox (the outbox keeps the first file). A call cut off by a kill between
# its line in SEND_LOG and its file is in SEND_LOG only: it delivered nothing.
SENT_AGAIN_LOG = "sent-again.log"


def _append(path: Path, line: str) -> None:
    # O_APPEND writes of one short line are atomic, and the fsync keeps it across a SIGKILL.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def send_calls(outbox_dir: Path) -> Counter[str]:
    """How many times `send` was called per idempotency key."""
    log = outbox_dir.parent / SEND_LOG
    if not log.exists():
        return Counter()
    return Counter(line for line in log.read_text().splitlines() if line)


def sent_again(outbox_dir: Path) -> Counter[str]:
    """How many times `send` was called per idempotency key after it had gone out."""
    log = outbox_dir.parent / SENT_AGAIN_LOG
    if not log.exists():
        return Counter()
    return Counter(line for line in log.read_text().splitlines() if line)


class RecordingOutbox(OutboxMailer):
    """The outbox, plus a log of every send call.

    REMISS_TEST_HANG_AFTER=N: after the Nth message is written, hang (the test kills us).
    REMISS_TEST_HANG_BEFORE=N: hang before writing the Nth message.
    REMISS_TEST_FAIL_KEYS=a,b: raise a permanent failure for keys containing a or b.
    REMISS_TEST_FLAKY=N: every key fails temporarily on its first N sends (1: once).
    REMISS_TEST_LOST_REPLY=1: every key's first send goes out, then fails temporarily (the
    server took the message but its answer was lost).
    REMISS_TEST_SEND_DELAY_MS=N: each send takes N ms, half before the message goes out and
    half after (a server's latency both ways), so that a fan-out lasts long enough to overlap
    another sender or to be killed mid-way, in either half.
    REMISS_TEST_BATCH_SIZE=N: batches of N messages instead of the outbox's 50.
    """

    name = "test-outbox"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.outbox_dir)
        self.log = settings.outbox_dir.parent / SEND_LOG
        self.hang_after = int(os.environ.get("REMISS_TEST_HANG_AFTER", "0"))
        self.hang_before = int(os.environ.get("REMISS_TEST_HANG_BEFORE", "0"))
        self.fail_keys = [k for k in os.environ.get("REMISS_TEST_FAIL_KEYS", "").split(",") if k]
        self.flaky = int(os.environ.get("REMISS_TEST_FLAKY") or "0")
        self.lost_reply = os.environ.get("REMISS_TEST_LOST_REPLY") == "1"
        self.half_delay = int(os.environ.get("REMISS_TEST_SEND_DELAY_MS") or "0") / 2000
        if batch_size := int(os.environ.get("REMISS_TEST_BATCH_SIZE") or "0"):
            self.batch_size = batch_size

    def send(self, message: OutgoingEmail) -> str:
        key = message.idempotency_key
        if any(part in key for part in self.fail_keys):
            raise PermanentMailError(f"mottagaren {message.to[0]} finns inte")
        if self.flaky:
            marker = self.log.parent / f"flaky-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
            failed = int(marker.read_text() or "0") if marker.exists() else 0
            if failed < self.flaky:
                marker.write_text(str(failed + 1))
                raise TemporaryMailError("servern är upptagen, försök igen senare")
        time.sleep(self.half_delay)
        with _lock:
            count = len(list(self.directory.glob("*.eml"))) + 1 if self.directory.exists() else 1
            if self.hang_before and count == self.hang_before:
                _hang()
            if self.path_for(key).exists():
                _append(self.log.parent / SENT_AGAIN_LOG, key)
            _append(self.log, key)
            result = super().send(message)
            if self.hang_after and count == self.hang_after:
                _hang()
        time.sleep(self.half_delay)
        if self.lost_reply:
            lost = self.log.parent / f"lost-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
            if not lost.exists():
                lost.touch()
                raise TemporaryMailError("anslutningen bröts innan servern svarade")
        return result


_lock = threading.Lock()


def _hang() -> None:
    while True:
        time.sleep(1)


def recording_outbox(settings: Settings) -> RecordingOutbox:
    return RecordingOutbox(settings)
