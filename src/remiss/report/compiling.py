"""When a remissammanställning is due, and extracting answer texts once, on arrival."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from remiss.core import dates
from remiss.db.models import Answer, Round
from remiss.reminders.sweep import is_done, jointly_answered
from remiss.storage.documents import read_verified

KINDS = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
}


def extract_answer_texts(session: Session, answer_id: int) -> int:
    """Store the text of each of the answer's documents not yet read; returns how many."""
    from remiss.report.extract import ExtractError, extract_text

    done = 0
    for document in session.get_one(Answer, answer_id).documents:
        if document.text is not None or document.text_error is not None:
            continue
        kind = KINDS.get(document.content_type)
        if kind is None:
            document.text_error = f"okänd filtyp {document.content_type}"
            continue
        try:
            data = read_verified(Path(document.storage_path), document.sha256)
            document.text = extract_text(data, kind)
        except (ExtractError, OSError) as exc:
            document.text_error = str(exc)
        done += 1
    return done


def last_activity(rnd: Round) -> dt.datetime | None:
    moments = [a.submitted_at for d in rnd.dispatches for a in d.answers]
    moments += [d.declined_at for d in rnd.dispatches if d.declined_at]
    return max(moments, default=None)


def compile_due(rnd: Round, *, now: dt.datetime, tz: str, grace_days: int) -> bool:
    """Compile by itself when every remissinstans has answered or declined, or when the
    deadline plus `grace_days` working days has passed; again only if something came in
    since the last automatic compile."""
    if rnd.state != "open":
        return False
    session = object_session(rnd)
    assert session is not None
    joint = jointly_answered(session, rnd.id)
    complete = all(is_done(d, joint) for d in rnd.dispatches)
    # The latest deadline counts: a remissinstans with anstånd still has its time.
    latest = max((d.deadline for d in rnd.dispatches), default=rnd.svar_senast)
    grace_end = dates.deadline_end(dates.add_working_days(latest, grace_days), tz)
    if not (complete or now > grace_end):
        return False
    if rnd.auto_compiled_at is None:
        return True
    activity = last_activity(rnd)
    return activity is not None and activity > rnd.auto_compiled_at


def rounds_due(session: Session, *, now: dt.datetime, tz: str, grace_days: int) -> list[int]:
    return [
        rnd.id
        for rnd in session.scalars(select(Round).where(Round.state == "open"))
        if compile_due(rnd, now=now, tz=tz, grace_days=grace_days)
    ]
