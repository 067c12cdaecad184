"""The event log as Prefect events: what an operator sees in the dashboard's event feed.

Every change of a dispatch's state is already a row in the append-only event log
(`handelse`). `claim_events` hands out the rows not yet published, each once, by moving
a cursor with compare-and-set; `feed_event` says what Prefect event a row becomes.
Publishing is at most once: a process that dies after claiming loses those events from
the feed (never from the log), which is what Prefect's own event client promises too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch, Event, FeedCursor

PREFIX = "remiss"
# A stable namespace: the Prefect event of a log row always has the same id.
_NAMESPACE = uuid.UUID("6f1b1d6e-6a43-4c1e-9d0e-2b8d1c0f5a11")

# Log kind -> event name (after "remiss.dispatch."); kinds not listed are not published.
_NAMES = {
    "opened": "opened",
    "received": "acknowledged",
    "anstand_requested": "anstand.requested",
    "anstand_granted": "anstand.granted",
    "anstand_refused": "anstand.refused",
    "answered": "answered",
    "answer_reviewed": "answer.reviewed",
    "declined": "declined",
    "delivered": "delivered",
    "bounced": "bounced",
    "read_receipt": "read",
    "send_failed": "send-failed",
    "email_to_registrator": "email-to-registrator",
}


@dataclass(frozen=True)
class FeedEvent:
    id: uuid.UUID
    event: str
    occurred: dt.datetime
    resource: dict[str, str]
    related: list[dict[str, str]] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


def event_name(kind: str, detail: dict[str, Any]) -> str | None:
    """The event a log row becomes, or None if it is bookkeeping only."""
    if kind == "sent":
        message = str(detail.get("message", ""))
        if message == "missiv":
            return f"{PREFIX}.dispatch.sent"
        if message.startswith("paminnelse"):
            overdue = "_sen" in message or "_eskalering" in message
            return f"{PREFIX}.dispatch.{'overdue' if overdue else 'reminded'}"
        return f"{PREFIX}.dispatch.{message}.sent" if message else None
    name = _NAMES.get(kind)
    return f"{PREFIX}.dispatch.{name}" if name else None


def feed_event(row: Event, dispatch: Dispatch) -> FeedEvent | None:
    name = event_name(row.kind, row.detail)
    if name is None:
        return None
    rnd = dispatch.round
    code = dispatch.remissinstans.code
    return FeedEvent(
        # With the round's random uid: row ids start again in a new database.
        id=uuid.uuid5(_NAMESPACE, f"{rnd.uid}/handelse-{row.id}"),
        event=name,
        occurred=row.at,
        resource={
            "prefect.resource.id": f"{PREFIX}.dispatch.{dispatch.id}",
            "prefect.resource.name": f"{dispatch.name} – {rnd.case.diarienummer}",
            "remiss.diarienummer": rnd.case.diarienummer,
            "remiss.remissinstans": code,
        },
        related=[
            {
                "prefect.resource.id": f"{PREFIX}.round.{rnd.id}",
                "prefect.resource.role": "remissomgang",
                "prefect.resource.name": f"Remiss {rnd.case.diarienummer}",
            },
            {
                "prefect.resource.id": f"{PREFIX}.remissinstans.{code}",
                "prefect.resource.role": "remissinstans",
                "prefect.resource.name": dispatch.name,
            },
        ],
        payload={
            "log_id": row.id,
            "round_id": rnd.id,
            "dispatch_id": dispatch.id,
            **{k: v for k, v in row.detail.items() if isinstance(v, str | int | bool | None)},
        },
    )


def claim_events(session: Session, *, limit: int = 500) -> list[FeedEvent]:
    """The next rows not yet published, as events; None of them is handed out twice."""
    cursor = session.get(FeedCursor, 1)
    if cursor is None:
        cursor = FeedCursor(id=1, last_event_id=0)
        session.add(cursor)
        session.flush()
    start = cursor.last_event_id
    rows = list(
        session.scalars(select(Event).where(Event.id > start).order_by(Event.id).limit(limit))
    )
    if not rows:
        return []
    moved = session.execute(
        update(FeedCursor)
        .where(FeedCursor.id == 1, FeedCursor.last_event_id == start)
        .values(last_event_id=rows[-1].id)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return []  # another publisher took these rows
    events = []
    for row in rows:
        dispatch = session.get_one(Dispatch, row.dispatch_id)
        event = feed_event(row, dispatch)
        if event is not None:
            events.append(event)
    return events


def claim_batch(settings: Settings, *, limit: int = 500) -> list[FeedEvent]:
    with session_scope(settings.database_url) as session:
        return claim_events(session, limit=limit)
