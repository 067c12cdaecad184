"""Prefect's retry options for every send and for the reminder claims."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

from remiss.outbox.sending import TemporarySendError


def _worth_retrying(_task: object, _run: object, state: Any) -> bool:
    """Only a temporary failure of the mail server or the database is worth a retry."""
    return isinstance(state.result(raise_on_failure=False), TemporarySendError | OperationalError)


# Back-off of 10, 20, 40, 80 s.
SEND_RETRIES: dict[str, Any] = {
    "retries": 4,
    "retry_delay_seconds": [10, 20, 40, 80],
    "retry_condition_fn": _worth_retrying,
}
