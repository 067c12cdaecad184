"""What a remissinstans does through its link: open, confirm, ask for anstånd, decline, answer.

Every function takes `now` and raises InputError with a Swedish message naming the
field for the official's mistakes; nothing is stored when it does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from remiss.answers import joint
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.states import EventKind, RoundState
from remiss.core.terms import STALLNINGSTAGANDEN
from remiss.core.tokens import hash_token, token_matches
from remiss.core.validation import email_field
from remiss.db.events import log_event
from remiss.db.models import Answer, Dispatch, Document
from remiss.reminders import schedule
from remiss.storage.documents import StoredFile, document_row, store_bytes
from remiss.storage.uploads import CheckedFile


def find_by_token(
    session: Session, *, token: str, now: dt.datetime, valid_days_after_close: int
) -> Dispatch | None:
    """The dispatch a link opens, or None for an unknown or expired link (never says which)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    dispatch = session.scalars(select(Dispatch).where(Dispatch.token_hash == digest)).first()
    if dispatch is None or dispatch.token_hash is None:
        return None
    if not token_matches(token, dispatch.token_hash):
        return None
    closed = dispatch.round.closed_at
    if closed is not None and now > closed + dt.timedelta(days=valid_days_after_close):
        return None
    return dispatch


def other_dispatches(session: Session, *, dispatch: Dispatch) -> list[Dispatch]:
    """The round's other dispatches with their answers, in two queries: loaded one by one,
    a round of 300 cost the answer page some 600 queries."""
    return list(
        session.scalars(
            select(Dispatch)
            .where(Dispatch.round_id == dispatch.round_id, Dispatch.id != dispatch.id)
            .options(selectinload(Dispatch.answers), joinedload(Dispatch.remissinstans))
            .order_by(Dispatch.id)
        )
    )


def answer_version(session: Session, *, dispatch: Dispatch, version: int) -> Answer | None:
    """One version of the dispatch's answers, or None."""
    return session.scalars(
        select(Answer).where(Answer.dispatch_id == dispatch.id, Answer.version == version)
    ).first()


def record_opening(session: Session, *, dispatch: Dispatch, now: dt.datetime) -> bool:
    """Record the first opening of the link; later openings change nothing."""
    if dispatch.opened_at is not None:
        return False
    dispatch.opened_at = now
    log_event(session, dispatch_id=dispatch.id, kind=EventKind.OPENED, now=now)
    return True


def is_closed(dispatch: Dispatch) -> bool:
    return dispatch.round.state == RoundState.CLOSED


def require_open(dispatch: Dispatch) -> None:
    if is_closed(dispatch):
        raise InputError("Remissomgången är avslutad; det går inte längre att svara via länken.")


def clean_text(
    value: str | None, *, field: str, max_len: int, missing: str | None = None
) -> str | None:
    """The text, trimmed; `missing`: the field is required, and this says what to fill in
    (the error summary shows it alone, so it names the field)."""
    text = (value or "").strip()
    if missing and not text:
        raise InputError(missing, field=field)
    if "\x00" in text:
        # No keyboard types it and PostgreSQL cannot store it: only a broken client sends it.
        raise InputError(
            "Texten innehåller ett tecken som inte kan sparas (ett nolltecken). Ta bort det och "
            "försök igen.",
            field=field,
        )
    if len(text) > max_len:
        raise InputError(f"Texten får vara högst {max_len} tecken.", field=field)
    return text or None


def clean_email(value: str | None, *, field: str, max_len: int = 320) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        email = email_field(text, source="formuläret", field=field)
    except InputError as exc:
        raise InputError(
            "Ange en giltig e-postadress, till exempel namn@kommun.se.", field=field
        ) from exc
    if len(email) > max_len:
        raise InputError(f"E-postadressen får vara högst {max_len} tecken.", field=field)
    return email


def confirm_receipt(
    session: Session,
    *,
    dispatch: Dispatch,
    their_diarienummer: str | None,
    contact_name: str | None,
    contact_email: str | None,
    now: dt.datetime,
) -> None:
    require_open(dispatch)
    dnr = clean_text(their_diarienummer, field="diarienummer", max_len=100)
    name = clean_text(contact_name, field="kontaktperson", max_len=200)
    email = clean_email(contact_email, field="epost")
    first = dispatch.received_at is None
    if first:
        dispatch.received_at = now
    dispatch.their_diarienummer = dnr or dispatch.their_diarienummer
    dispatch.contact_name = name or dispatch.contact_name
    dispatch.contact_email = email or dispatch.contact_email
    record_opening(session, dispatch=dispatch, now=now)
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.RECEIVED if first else EventKind.RECEIPT_UPDATED,
        now=now,
        their_diarienummer=dnr,
        contact_name=name,
        contact_email=email,
    )


def decline(
    session: Session, *, dispatch: Dispatch, reason: str | None, now: dt.datetime, tz: str
) -> None:
    require_open(dispatch)
    if dispatch.current_answer is not None:
        raise InputError(
            "Ni har redan lämnat ett svar; kontakta handläggaren om ni vill ta tillbaka det."
        )
    if dispatch.declined_at is not None:
        return
    dispatch.declined_at = now
    dispatch.decline_reason = clean_text(reason, field="skal", max_len=2000)
    log_event(session, dispatch_id=dispatch.id, kind=EventKind.DECLINED, now=now)
    schedule.refresh(session, dispatch=dispatch, tz=tz, now=now)


@dataclass
class AnswerForm:
    position: str | None
    att_sats_positions: dict[int, str] = field(default_factory=dict)
    summary: str | None = None
    decision_date: str | None = None
    decision_paragraph: str | None = None
    joint_with: list[str] = field(default_factory=list)
    reservationer: str | None = None
    sarskilda_uttalanden: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None


def check_answer(
    dispatch: Dispatch, form: AnswerForm, *, now: dt.datetime, tz: str
) -> dict[str, object]:
    """Validate an answer form; returns the values to store."""
    require_open(dispatch)
    if dispatch.declined_at is not None:
        raise InputError(
            "Ni har meddelat att ni avstår från att yttra er. Kontakta handläggaren om ni ändå "
            "vill svara."
        )
    if dispatch.current_answer is not None and now > dates.deadline_end(dispatch.deadline, tz):
        raise InputError(
            "Svarstiden har gått ut, så svaret kan inte längre ändras. Kontakta handläggaren."
        )
    if form.position not in STALLNINGSTAGANDEN:
        raise InputError("Välj ert ställningstagande.", field="stallningstagande")
    numbers = {a.number for a in dispatch.round.case.att_satser}
    per_sats: dict[str, str] = {}
    for number, position in sorted(form.att_sats_positions.items()):
        if not position:
            continue
        if number not in numbers or position not in STALLNINGSTAGANDEN:
            raise InputError("Välj ett av alternativen.", field=f"att_sats_{number}")
        per_sats[str(number)] = position
    decision_date = None
    if form.decision_date and form.decision_date.strip():
        try:
            decision_date = dates.parse_date(form.decision_date)
        except ValueError as exc:
            raise InputError("Ange beslutsdatumet som ÅÅÅÅ-MM-DD.", field="beslutsdatum") from exc
        if decision_date > dates.local_today(now, tz):
            raise InputError("Beslutsdatumet kan inte ligga i framtiden.", field="beslutsdatum")
    others = {d.remissinstans.code for d in dispatch.round.dispatches if d.id != dispatch.id}
    joint = [code for code in dict.fromkeys(form.joint_with) if code]
    for code in joint:
        if code not in others:
            raise InputError("Välj bara remissinstanser som fått samma remiss.", field="gemensamt")
    return {
        "position": form.position,
        "att_sats_positions": per_sats,
        "summary": clean_text(form.summary, field="sammanfattning", max_len=5000),
        "decision_date": decision_date,
        "decision_paragraph": clean_text(form.decision_paragraph, field="paragraf", max_len=50),
        "joint_with": joint,
        "reservationer": clean_text(form.reservationer, field="reservationer", max_len=10000),
        "sarskilda_uttalanden": clean_text(
            form.sarskilda_uttalanden, field="sarskilda_uttalanden", max_len=10000
        ),
        "contact_name": clean_text(form.contact_name, field="kontaktperson", max_len=200),
        "contact_email": clean_email(form.contact_email, field="epost"),
    }


def submit_answer(
    session: Session,
    *,
    dispatch: Dispatch,
    values: dict[str, object],
    files: list[CheckedFile],
    store: Path,
    now: dt.datetime,
    channel: str = "web",
    written: list[StoredFile] | None = None,
) -> Answer:
    """Store a new answer version with its files. The caller commits before it says thank you.

    Files new to the store are appended to `written`, so that a caller whose transaction fails
    can take them away again (`discard_unreferenced`).

    The row lock (PostgreSQL) or the write lock (SQLite) serialises versions of one dispatch;
    the unique (dispatch, version) constraint stops a duplicate version in any case.
    """
    locked = session.scalars(
        select(Dispatch).where(Dispatch.id == dispatch.id).with_for_update()
    ).one()
    latest = session.scalars(
        select(Answer.version)
        .where(Answer.dispatch_id == locked.id)
        .order_by(Answer.version.desc())
        .limit(1)
    ).first()
    answer = Answer(
        dispatch_id=locked.id,
        version=(latest or 0) + 1,
        submitted_at=now,
        channel=channel,
        **values,
    )
    session.add(answer)
    session.flush()
    for i, checked in enumerate(files):
        stored = store_bytes(checked.data, store)
        if stored.created and written is not None:
            written.append(stored)
        session.add(
            document_row(
                stored,
                answer_id=answer.id,
                position=i,
                title=checked.filename,
                filename=checked.filename,
                content_type=checked.content_type,
                now=now,
            )
        )
    record_opening(session, dispatch=locked, now=now)
    log_event(
        session,
        dispatch_id=locked.id,
        kind=EventKind.ANSWERED,
        now=now,
        answer_id=answer.id,
        version=answer.version,
        files=[{"name": f.filename, "sha256": hashlib.sha256(f.data).hexdigest()} for f in files],
    )
    # The partners it names are asked in the same transaction: an answer is never stored
    # without its claims, nor a claim without its e-mail.
    joint.record_claims(session, answer=answer, now=now)
    session.flush()
    return answer


def discard_unreferenced(session: Session, *, files: list[StoredFile]) -> None:
    """Remove files written for an answer that was never committed, unless a document uses them.

    The check matters because the store is shared by content: another answer with the same
    file may have been committed meanwhile.
    """
    for stored in files:
        used = session.scalars(
            select(Document.id).where(Document.sha256 == stored.sha256).limit(1)
        ).first()
        if used is None:
            stored.path.unlink(missing_ok=True)
