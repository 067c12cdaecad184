"""Handing a stored answer to Prefect, without making the official wait for it.

`answer_trigger: thread`: one worker thread per portal process runs the process-answer
flow (given by the entry point, which knows the flows) for each answer in turn: flows
started side by side in one process raced each other (e.g. both starting Prefect's
temporary server). A failed run is tried again a few times; after that the answer stays
unprocessed and the sweep (`remiss answers process`) takes it.

`answer_trigger: event`: `announce` tells Prefect, whose deployment trigger runs the flow.

The workspace hands on its slow work the same way, as jobs (`Jobs.submit(name, **ids)`):
sending what an action queued, starting a round, compiling a report. The web process
only stores the decision and hands the work on; it never talks to the mail server or
renders a report itself. A job that is lost (a process killed first) is done by the
sweep, or by the same action again: every job is safe to run twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

log = logging.getLogger("remiss.web")

ATTEMPTS = 3
PAUSE_SECONDS = 5.0


class Jobs(Protocol):
    """Hands a job (a flow, by its name in `remiss.cli.portal_app.JOBS`) to Prefect."""

    def submit(self, name: str, **params: int) -> None: ...


T = TypeVar("T")


class BackgroundRunner(Generic[T]):
    """`runner(item)` queues the item for `run` on the worker thread; returns at once."""

    def __init__(self, run: Callable[[T], None]) -> None:
        self._run = run
        self._queue: queue.Queue[T] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, item: T) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="process-answers", daemon=True
                )
                self._worker.start()
        self._queue.put(item)

    def wait_idle(self, timeout: float) -> bool:
        """Wait, at most `timeout` seconds, until every queued item has been run: a stopping
        portal lets the flow on the worker end before the interpreter does, which would
        abort the flow (and the process) halfway. Whether it is idle."""
        end = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    self._run(item)
                    break
                except Exception as exc:
                    log.warning(
                        "%s not done (attempt %s of %s: %s)",
                        item,
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


def announce_job(name: str, params: dict[str, int]) -> None:
    """`answer_trigger: event`: the job as an event; the deployment with the trigger for
    `remiss.job.<name>` runs it on a worker (flows/deployments.py)."""
    from prefect.events import emit_event

    emit_event(
        event=f"remiss.job.{name}",
        resource={
            "prefect.resource.id": f"remiss.job.{name}."
            + ".".join(f"{k}-{v}" for k, v in sorted(params.items()))
        },
        payload=params,
    )
