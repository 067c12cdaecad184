"""What became of each message in a run, and the sums an operator reads.

Kept apart so that a run that overlaps another (two workers, a worker and `remiss round
send`) never reports the other's work as its own failure: only UNSENT and FAILED are
problems, and the sums count what other processes sent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class SendResult(StrEnum):
    """What became of one message in one run, as an operator is told."""

    SENT = "sent"  # sent now, by this run
    RECOVERED = "recovered"  # had gone out earlier (found in the backend); recorded now
    ALREADY_SENT = "already_sent"  # recorded as sent before this run began
    BY_OTHER = "by_other"  # sent by another process while this run was at work
    BUSY = "busy"  # another process holds it and is sending it
    UNSENT = "unsent"  # failed for now: a later attempt may send it
    FAILED = "failed"  # failed for good (the address or the message was refused)


# Only these mean that a message has not reached its recipient and nobody is at it.
PROBLEMS = (SendResult.UNSENT, SendResult.FAILED)


@dataclass(frozen=True)
class SendOutcome:
    dispatch_id: int
    result: SendResult
    detail: str = ""
    # For BUSY: which process holds the claim, and since when.
    holder: str = ""
    since: dt.datetime | None = None


# In the order an operator reads them, each with how many of them it counts.
_LABELS = {
    SendResult.SENT: "Skickade nu: {n}.",
    SendResult.RECOVERED: (
        "Hade redan gått iväg (fanns bland de skickade i e-postservern) och har nu "
        "registrerats: {n}."
    ),
    SendResult.ALREADY_SENT: "Var redan skickade: {n}.",
    SendResult.BY_OTHER: "Skickades av en annan process under tiden: {n}.",
    SendResult.BUSY: "Skickas just nu av en annan process: {n}.",
    SendResult.UNSENT: "Kunde inte skickas nu (ett tillfälligt fel): {n}.",
    SendResult.FAILED: "Kunde inte skickas alls (mottagaren eller meddelandet nekades): {n}.",
}


def tally(outcomes: Iterable[SendOutcome]) -> dict[str, int]:
    """The number of messages per result, for a flow's result and the dashboard."""
    counts = Counter(o.result.value for o in outcomes)
    return {r.value: counts[r.value] for r in SendResult if counts[r.value]}


def problems(counts: Mapping[str, int]) -> int:
    return sum(counts.get(r.value, 0) for r in PROBLEMS)


def summary(counts: Mapping[str, int]) -> str:
    """The sums in Swedish, one sentence per kind of outcome that occurred."""
    parts = [label.format(n=counts[r.value]) for r, label in _LABELS.items() if counts.get(r.value)]
    return " ".join(parts) or "Inget behövde skickas."
