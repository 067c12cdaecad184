"""Handing a stored answer to Prefect, without making the official wait for it.

One worker thread per portal process runs the process-answer flow for each answer in
turn: flows started side by side in one process raced each other (e.g. both starting
Prefect's temporary server). A failed run is tried again a few times; after that the
answer stays unprocessed and the sweep (`remiss answers process`) takes it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

log = logging.getLogger("remiss.web")

ATTEMPTS = 3
PAUSE_SECONDS = 5.0

_queue: queue.Queue[int] = queue.Queue()
_worker: threading.Thread | None = None
_lock = threading.Lock()


def _run() -> None:
    from flows.messages import process_answer

    while True:
        answer_id = _queue.get()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                process_answer(answer_id)
                break
            except Exception as exc:
                log.warning(
                    "answer %s not processed (attempt %s of %s: %s)",
                    answer_id,
                    attempt,
                    ATTEMPTS,
                    type(exc).__name__,
                )
                time.sleep(PAUSE_SECONDS)
        _queue.task_done()


def process_in_background(answer_id: int) -> None:
    """Queue the answer for the process-answer flow; returns at once."""
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="process-answers", daemon=True)
            _worker.start()
    _queue.put(answer_id)


def announce(answer_id: int) -> None:
    """`answer_trigger: event`: tell Prefect; the behandla-svar deployment's trigger runs the
    flow on a worker. Until it has, the sweep would also find the answer unprocessed."""
    from prefect.events import emit_event

    emit_event(
        event="remiss.answer.received",
        resource={"prefect.resource.id": f"remiss.answer.{answer_id}"},
        payload={"answer_id": answer_id},
    )
