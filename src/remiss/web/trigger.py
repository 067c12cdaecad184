"""Handing a stored answer to Prefect, without making the official wait for it.

`answer_trigger: thread`: one worker thread per portal process runs the process-answer
flow (given by the entry point, which knows the flows) for each answer in turn: flows
started side by side in one process raced each other (e.g. both starting Prefect's
temporary server). A failed run is tried again a few times; after that the answer stays
unprocessed and the sweep (`remiss answers process`) takes it.

`answer_trigger: event`: `announce` tells Prefect, whose deployment trigger runs the flow.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger("remiss.web")

ATTEMPTS = 3
PAUSE_SECONDS = 5.0


class BackgroundRunner:
    """`runner(answer_id)` queues the answer for `run` on the worker thread; returns at once."""

    def __init__(self, run: Callable[[int], None]) -> None:
        self._run = run
        self._queue: queue.Queue[int] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, answer_id: int) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="process-answers", daemon=True
                )
                self._worker.start()
        self._queue.put(answer_id)

    def _work(self) -> None:
        while True:
            answer_id = self._queue.get()
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    self._run(answer_id)
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
            self._queue.task_done()


def announce(answer_id: int) -> None:
    """`answer_trigger: event`: tell Prefect; the behandla-svar deployment's trigger runs the
    flow on a worker. Until it has, the sweep would also find the answer unprocessed."""
    from prefect.events import emit_event

    emit_event(
        event="remiss.answer.received",
        resource={"prefect.resource.id": f"remiss.answer.{answer_id}"},
        payload={"answer_id": answer_id},
    )
