"""How flows try again: a mail server that did not take a message, a database that failed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

# Between attempts at the messages the mail server did not take (failed for now): each
# attempt is a new claim, so the waits may add up to more than the send lease.
MAIL_RETRY_DELAYS: tuple[float, ...] = (10, 20, 40, 80)


def _worth_retrying(_task: object, _run: object, state: Any) -> bool:
    """Only a database that failed is worth a retry of the whole task."""
    return isinstance(state.result(raise_on_failure=False), OperationalError)


# Back-off of 10, 20, 40, 80 s, when the database failed under a send or a reminder claim.
DB_RETRIES: dict[str, Any] = {
    "retries": 4,
    "retry_delay_seconds": [10, 20, 40, 80],
    "retry_condition_fn": _worth_retrying,
}
