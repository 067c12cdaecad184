"""Handing a stored answer to Prefect, without making the official wait for it."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("remiss.web")


def process_in_background(answer_id: int) -> None:
    """Run the process-answer flow in a thread; if Prefect is unreachable the sweep catches up."""

    def run() -> None:
        from flows.messages import process_answer

        try:
            process_answer(answer_id)
        except Exception as exc:
            log.warning(
                "answer %s not processed now (%s); the sweep will", answer_id, type(exc).__name__
            )

    threading.Thread(target=run, name=f"process-answer-{answer_id}", daemon=True).start()
