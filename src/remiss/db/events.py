"""The event log (`handelse`): one append-only row for everything that happens to a dispatch."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from remiss.core.states import EventKind
from remiss.db.models import Event


def log_event(
    session: Session, *, dispatch_id: int, kind: EventKind, now: dt.datetime, **detail: object
) -> None:
    """Append a row in the caller's transaction (the models refuse to change or delete one)."""
    session.add(Event(dispatch_id=dispatch_id, at=now, kind=kind, detail=detail))
