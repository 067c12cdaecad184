"""The reminder sweep: working days at 08:00 Europe/Stockholm, and `remiss remind`."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task

from flows.dashboard import label_dated_run, publish_events, quietly
from flows.messages import send_in_batches
from flows.retries import DB_RETRIES
from remiss.answers import joint
from remiss.core.dates import utcnow
from remiss.core.settings import load_settings
from remiss.outbox.outcomes import tally
from remiss.reminders import sweep as reminding


# Retried when the database failed: a database that restarts mid-sweep would otherwise
# leave the day's reminders to the next working day. Each stage is claimed once, so a
# retry claims the rest.
@task(name="köa-påminnelser", **DB_RETRIES)
def queue_due_reminders(as_of: dt.datetime) -> list[int]:
    """Claim every due stage (a hundred dispatches per transaction); also pick up earlier
    leftovers, and the stages another sweep claimed at the same moment (so that the sums
    count them)."""
    return reminding.queue_due(load_settings(), now=as_of)


@task(name="gemensamma-svar-från-före-bekräftelse", **DB_RETRIES)
def adopt_joint_claims(as_of: dt.datetime) -> list[int]:
    """Joint answers stored before partners had to confirm them become claims (once): the
    partners are asked, and the sweep looks at them again; the e-mails to send."""
    return joint.adopt(load_settings(), now=as_of)


@flow(name="påminnelser")
def remind(as_of: dt.datetime | None = None) -> dict[str, int]:
    """Send the reminders that are due at `as_of` (now if not given), each stage once."""
    quietly(label_dated_run, "Påminnelser")
    now = as_of or utcnow()
    asked = adopt_joint_claims(now)
    message_ids = asked + queue_due_reminders(now)
    results = tally(send_in_batches(message_ids))
    quietly(publish_events)
    return results
