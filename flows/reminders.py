"""The reminder sweep: working days at 08:00 Europe/Stockholm, and `remiss remind`."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task

from flows.dashboard import label_dated_run, publish_events, quietly
from flows.messages import send_in_batches
from remiss import reminding
from remiss.dates import utcnow
from remiss.db import session_scope
from remiss.sending import SEND_RETRIES
from remiss.settings import load_settings


# Retried like a send: a database that restarts mid-sweep would otherwise leave the day's
# reminders to the next working day. Each stage is claimed once, so a retry claims the rest.
@task(name="köa-påminnelser", **SEND_RETRIES)
def queue_due_reminders(as_of: dt.datetime) -> list[int]:
    """Claim every due stage (each in its own transaction); also pick up earlier leftovers."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        due = reminding.due_dispatch_ids(session, as_of)
    message_ids: list[int] = []
    for dispatch_id in due:
        with session_scope(settings.database_url) as session:
            message_id = reminding.claim(session, dispatch_id, now=as_of, tz=settings.timezone)
        if message_id is not None:
            message_ids.append(message_id)
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
