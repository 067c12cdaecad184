"""The reminder sweep: working days at 08:00 Europe/Stockholm, and `remiss remind`."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task

from flows.dashboard import label_dated_run, publish_events, quietly
from flows.messages import send_in_batches
from remiss.core.dates import utcnow
from remiss.core.settings import load_settings
from remiss.db.engine import session_scope
from remiss.outbox.sending import SEND_RETRIES
from remiss.reminders import sweep as reminding

CLAIMS_PER_TRANSACTION = 100


# Retried like a send: a database that restarts mid-sweep would otherwise leave the day's
# reminders to the next working day. Each stage is claimed once, so a retry claims the rest.
@task(name="köa-påminnelser", **SEND_RETRIES)
def queue_due_reminders(as_of: dt.datetime) -> list[int]:
    """Claim every due stage (a hundred dispatches per transaction); also pick up earlier
    leftovers."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        due = reminding.due_dispatch_ids(session, as_of)
    message_ids: list[int] = []
    for start in range(0, len(due), CLAIMS_PER_TRANSACTION):
        chunk = due[start : start + CLAIMS_PER_TRANSACTION]
        with session_scope(settings.database_url) as session:
            message_ids += reminding.claim_many(session, chunk, now=as_of, tz=settings.timezone)
    with session_scope(settings.database_url) as session:
        leftovers = reminding.unsent_reminders(session, now=as_of, tz=settings.timezone)
    return sorted(set(message_ids) | set(leftovers))


@flow(name="påminnelser")
def remind(as_of: dt.datetime | None = None) -> dict[str, int]:
    """Send the reminders that are due at `as_of` (now if not given), each stage once."""
    quietly(label_dated_run, "Påminnelser")
    message_ids = queue_due_reminders(as_of or utcnow())
    results = dict(send_in_batches(message_ids))
    quietly(publish_events)
    return results
