"""When a remissammanställning is due, and extracting answer texts once, on arrival.

No transaction is open while a file is read or a report is built: what is needed is read
in a short transaction (`read_scope`, which on SQLite holds no lock), the slow part runs
outside it or under it without a lock, and the small result is written in another short
transaction. A document's text is read in a child process with limits
(`report.extract.extract_limited`), never in the process that serves pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from remiss.core import dates
from remiss.core.settings import Settings
from remiss.core.states import RoundState
from remiss.db.engine import read_scope, session_scope
from remiss.db.models import Answer, Document, Round
from remiss.reminders.schedule import is_done, jointly_answered
from remiss.report.answer_reading import for_storage, is_current
from remiss.report.content import Report, build_report
from remiss.report.render import write_atomically
from remiss.rounds.timeline import VERSION_FILE
from remiss.storage.documents import document_path, read_verified

KINDS = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
}


def extract_answer_texts(settings: Settings, *, answer_id: int) -> int:
    """Store the text of each of the answer's documents not yet read, and what it says
    (`answer_reading.for_storage`); returns how many texts were stored.

    A document that cannot be read, or only in part (over a cap), gets a Swedish reason in
    `text_error`; the answer itself is kept as it is.
    """
    from remiss.report.extract import ExtractLimits, extract_limited

    with read_scope(settings.database_url) as session:
        answer = session.get_one(Answer, answer_id)
        case = answer.dispatch.round.case
        context = {"case_dnr": case.diarienummer, "case_title": case.rubrik}
        todo = [
            (d.id, d.content_type, d.storage_path, d.sha256)
            for d in answer.documents
            if d.text is None and d.text_error is None
        ]
        unread = [
            (d.id, d.text)
            for d in answer.documents
            if d.text is not None and not is_current(d.reading, **context)
        ]
    for document_id, known in unread:
        _store_reading(settings, document_id, for_storage(known, **context))
    done = 0
    for document_id, content_type, storage_path, sha256 in todo:
        text: str | None
        error: str | None
        kind = KINDS.get(content_type)
        if kind is None:
            text, error = None, f"okänd filtyp {content_type}"
        else:
            try:
                data = read_verified(document_path(settings.documents_dir, storage_path), sha256)
            except OSError as exc:
                text, error = None, f"Filen kunde inte läsas från lagringen ({exc.strerror})."
            else:
                result = extract_limited(data, kind, ExtractLimits())
                text, error = result.text, result.error
        # Read outside the transaction: a long file takes a fifth of a second.
        reading = None if text is None else for_storage(text, **context)
        with session_scope(settings.database_url) as session:
            document = session.get_one(Document, document_id)
            if document.text is None and document.text_error is None:
                document.text, document.text_error = text, error
                document.reading = reading
                done += kind is not None
    return done


def _store_reading(settings: Settings, document_id: int, reading: dict[str, Any]) -> None:
    with session_scope(settings.database_url) as session:
        session.get_one(Document, document_id).reading = reading


def last_activity(rnd: Round) -> dt.datetime | None:
    moments = [a.submitted_at for d in rnd.dispatches for a in d.answers]
    moments += [d.declined_at for d in rnd.dispatches if d.declined_at]
    return max(moments, default=None)


def compile_due(rnd: Round, *, now: dt.datetime, tz: str, grace_days: int) -> bool:
    """Compile by itself when every remissinstans has answered or declined, or when the
    deadline plus `grace_days` working days has passed; again only if something came in
    since the last automatic compile."""
    if rnd.state != RoundState.OPEN:
        return False
    session = object_session(rnd)
    assert session is not None
    joint = jointly_answered(session, round_id=rnd.id)
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
        for rnd in session.scalars(select(Round).where(Round.state == RoundState.OPEN))
        if compile_due(rnd, now=now, tz=tz, grace_days=grace_days)
    ]


def extract_texts(settings: Settings, *, answer_id: int) -> int:
    """Read the answer's documents once, on arrival, so that compiling never reads files."""
    return extract_answer_texts(settings, answer_id=answer_id)


def rounds_to_compile(
    settings: Settings, *, now: dt.datetime, answer_id: int | None = None
) -> list[int]:
    """Rounds whose remissammanställning is due; with `answer_id`, only that answer's round."""
    with read_scope(settings.database_url) as session:
        due = rounds_due(
            session, now=now, tz=settings.timezone, grace_days=settings.compile_grace_days
        )
        if answer_id is None:
            return due
        own = session.get_one(Answer, answer_id).dispatch.round_id
        return [r for r in due if r == own]


def build_for_compile(
    settings: Settings, *, round_id: int, now: dt.datetime, automatic: bool
) -> Report:
    """The report's content; an automatic compile is remembered so it runs again only after
    something new came in.

    The report is built from a snapshot in a read-only transaction, which holds no lock, and
    the mark is written afterwards in a transaction of its own."""
    with read_scope(settings.database_url) as session:
        report = build_report(session.get_one(Round, round_id), now=now, tz=settings.timezone)
    if automatic:
        with session_scope(settings.database_url) as session:
            session.get_one(Round, round_id).auto_compiled_at = now
    return report


def record_version(report: Report, paths: list[Path]) -> Path:
    """Write the compile's record beside its files: whether it is the working copy or the
    final version, and each file's sha256 (so that a copy handed on can be checked with
    `sha256sum`). Written last: a folder without it was not completed."""
    folder = paths[0].parent
    record = {
        "status": report.status_label,
        "sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths},
    }
    target = folder / VERSION_FILE
    write_atomically(target, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
    return target
