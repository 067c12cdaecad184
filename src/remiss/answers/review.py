"""Answers that came by e-mail wait for a person: listed here, and reviewed into a new
version that carries the position the registrator read in the documents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.answers.service import clean_text, submit_answer
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import EventKind
from remiss.core.terms import STALLNINGSTAGANDEN
from remiss.db.engine import session_scope
from remiss.db.events import log_event
from remiss.db.models import Answer, Dispatch, Document, RemissinstansRow
from remiss.rounds.service import find_round
from remiss.rounds.status import sender_outside


def answers_to_review(settings: Settings) -> list[dict[str, Any]]:
    """Every dispatch whose current answer came by e-mail and waits for a person."""
    rows = []
    with session_scope(settings.database_url) as session:
        answers = session.scalars(
            select(Answer).where(Answer.needs_review.is_(True)).order_by(Answer.id)
        )
        for answer in answers:
            dispatch = answer.dispatch
            if dispatch.current_answer is not answer:
                continue
            rows.append(
                {
                    "round": dispatch.round_id,
                    "diarienummer": dispatch.round.case.diarienummer,
                    "code": dispatch.remissinstans.code,
                    "name": dispatch.name,
                    "version": answer.version,
                    "received": dates.iso_local(answer.submitted_at, settings.timezone),
                    "sender": answer.contact_email or "",
                    "sender_outside": sender_outside(answer, dispatch),
                    "files": ", ".join(d.filename for d in answer.documents),
                }
            )
    return rows


def review(
    settings: Settings,
    round_ref: str,
    code: str,
    *,
    position: str,
    att_sats_positions: dict[int, str],
    summary: str | None,
    reviewer: str,
    now: dt.datetime,
) -> tuple[str, int]:
    """Record the reviewed position; the remissinstans's name and the new version."""
    with session_scope(settings.database_url) as session:
        rnd = find_round(session, ref=round_ref)
        dispatch = session.scalars(
            select(Dispatch)
            .join(RemissinstansRow)
            .where(Dispatch.round_id == rnd.id, RemissinstansRow.code == code)
        ).first()
        if dispatch is None:
            raise NotFoundError(f"omgång {rnd.id} har ingen remissinstans med koden {code}")
        answer = review_answer(
            session,
            dispatch=dispatch,
            position=position,
            att_sats_positions=att_sats_positions,
            summary=summary,
            reviewer=reviewer,
            now=now,
        )
        return dispatch.name, answer.version


def _dispatch(session: Session, round_ref: str, code: str) -> Dispatch:
    rnd = find_round(session, ref=round_ref)
    dispatch = session.scalars(
        select(Dispatch)
        .join(RemissinstansRow)
        .where(Dispatch.round_id == rnd.id, RemissinstansRow.code == code)
    ).first()
    if dispatch is None:
        raise NotFoundError(f"omgång {rnd.id} har ingen remissinstans med koden {code}")
    return dispatch


def reject(
    settings: Settings, round_ref: str, code: str, *, reviewer: str, now: dt.datetime
) -> str:
    """Record that the e-mail waiting for review is not an answer; the remissinstans's name."""
    with session_scope(settings.database_url) as session:
        dispatch = _dispatch(session, round_ref, code)
        reject_answer(session, dispatch=dispatch, reviewer=reviewer, now=now)
        return dispatch.name


def review_answer(
    session: Session,
    *,
    dispatch: Dispatch,
    position: str,
    att_sats_positions: dict[int, str],
    summary: str | None,
    reviewer: str,
    now: dt.datetime,
) -> Answer:
    """Record the position of an answer that came by e-mail, as its next version.

    The e-mailed version stays as it came; the new one carries the same documents, the
    position a person read in them, and who did it. It is processed at once: the
    remissinstans had its kvittens when the e-mail arrived.
    """
    current = dispatch.current_answer
    if current is None or not current.needs_review:
        raise ConflictError(
            f"{dispatch.name} har inget svar som väntar på granskning i den här omgången."
        )
    if position not in STALLNINGSTAGANDEN:
        raise InputError(
            f"ska vara ett av {', '.join(STALLNINGSTAGANDEN)}",
            field="--stallningstagande",
            value=position,
        )
    numbers = {a.number for a in dispatch.round.case.att_satser}
    for number, value in att_sats_positions.items():
        if number not in numbers:
            raise InputError(
                f"ärendet har att-satserna {', '.join(map(str, sorted(numbers)))}",
                field="--att-sats",
                value=number,
            )
        if value not in STALLNINGSTAGANDEN:
            raise InputError(
                f"ska vara ett av {', '.join(STALLNINGSTAGANDEN)}", field="--att-sats", value=value
            )
    reviewed = submit_answer(
        session,
        dispatch=dispatch,
        values={
            "position": position,
            "att_sats_positions": {str(n): v for n, v in sorted(att_sats_positions.items())},
            "summary": clean_text(summary, field="--sammanfattning", max_len=5000),
            "contact_name": current.contact_name,
            "contact_email": current.contact_email,
            "email_message_id": current.email_message_id,
            "reviewed_by": reviewer,
            "processed_at": now,
        },
        files=[],
        store=Path("."),  # no files: the reviewed version's documents are linked below
        now=now,
        channel="email",
    )
    for document in current.documents:
        session.add(
            Document(
                answer_id=reviewed.id,
                position=document.position,
                title=document.title,
                filename=document.filename,
                content_type=document.content_type,
                size=document.size,
                sha256=document.sha256,
                storage_path=document.storage_path,
                created_at=document.created_at,
                text=document.text,
                text_error=document.text_error,
            )
        )
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.ANSWER_REVIEWED,
        now=now,
        answer_id=reviewed.id,
        version=reviewed.version,
        reviewed_version=current.version,
        reviewer=reviewer,
        position=position,
    )
    session.flush()
    return reviewed


def reject_answer(
    session: Session, *, dispatch: Dispatch, reviewer: str, now: dt.datetime
) -> Answer:
    """Record that the e-mail waiting for review is not an answer (a registration receipt,
    a forward, a question): it stays stored as it came, is no longer the current version,
    and the reminders go on as if it had not come."""
    current = dispatch.current_answer
    if current is None or not current.needs_review:
        raise ConflictError(
            f"{dispatch.name} har inget svar som väntar på granskning i den här omgången."
        )
    current.rejected_at = now
    current.rejected_by = reviewer
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.ANSWER_REJECTED,
        now=now,
        answer_id=current.id,
        version=current.version,
        reviewer=reviewer,
        sender=current.contact_email,
    )
    session.flush()
    session.expire(dispatch, ["answers"])
    return current
