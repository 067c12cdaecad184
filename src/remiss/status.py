"""The status of rounds, as a stable JSON document and as a table.

JSON schema `remiss.status/1` (documented in the README): fields are only ever added.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss import dates
from remiss.models import Dispatch, OutgoingMessage, Round
from remiss.rounds import MISSIV

SCHEMA = "remiss.status/1"

STATE_LABELS = {
    "pending": "väntar på utskick",
    "sending": "skickas",
    "sent": "skickad",
    "failed": "misslyckades",
}
STATES = tuple(STATE_LABELS)


def _iso(instant: dt.datetime | None) -> str | None:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if instant else None


def _missiv(dispatch: Dispatch) -> OutgoingMessage | None:
    return next((m for m in dispatch.messages if m.kind == MISSIV), None)


def dispatch_status(dispatch: Dispatch, *, now: dt.datetime, tz: str) -> dict[str, Any]:
    msg = _missiv(dispatch)
    return {
        "code": dispatch.remissinstans.code,
        "name": dispatch.name,
        "email": dispatch.email,
        "state": dispatch.state,
        "state_label": STATE_LABELS.get(dispatch.state, dispatch.state),
        "sent_at": _iso(dispatch.sent_at),
        "deadline": dispatch.deadline.isoformat(),
        "overdue": now > dates.deadline_end(dispatch.deadline, tz),
        "attempts": msg.attempts if msg else 0,
        "last_error": msg.last_error if msg else None,
    }


def round_status(rnd: Round, *, now: dt.datetime, tz: str) -> dict[str, Any]:
    case = rnd.case
    items = [dispatch_status(d, now=now, tz=tz) for d in rnd.dispatches]
    counts = Counter(item["state"] for item in items)
    return {
        "id": rnd.id,
        "uid": rnd.uid,
        "diarienummer": case.diarienummer,
        "rubrik": case.rubrik,
        "arendetyp": case.arendetyp,
        "state": rnd.state,
        "started_at": _iso(rnd.started_at),
        "svar_senast": rnd.svar_senast.isoformat(),
        "counts": {state: counts.get(state, 0) for state in STATES} | {"total": len(items)},
        "dispatches": items,
    }


def status_document(
    session: Session, *, now: dt.datetime, tz: str, rounds: list[Round] | None = None
) -> dict[str, Any]:
    """Every open round (or the rounds given), newest first."""
    if rounds is None:
        rounds = list(
            session.scalars(select(Round).where(Round.state == "open").order_by(Round.id.desc()))
        )
    return {
        "schema": SCHEMA,
        "generated_at": _iso(now),
        "rounds": [round_status(r, now=now, tz=tz) for r in rounds],
    }


def table_rows(round_doc: dict[str, Any], tz: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for d in round_doc["dispatches"]:
        sent = dates.iso_local(dt.datetime.fromisoformat(d["sent_at"]), tz) if d["sent_at"] else "–"
        state = d["state_label"]
        if d["last_error"] and d["state"] != "sent":
            state += f" ({d['last_error']})"
        rows.append((d["name"], state, sent, d["deadline"]))
    return rows
