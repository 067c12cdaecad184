"""After an answer is stored: the kvittens, and the sweep that catches what was not processed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.core.settings import Settings
from remiss.core.states import EventKind, MessageKind
from remiss.db.engine import session_scope
from remiss.db.events import log_event
from remiss.db.models import Answer
from remiss.rounds.service import queue_message


def queue_kvittens(session: Session, *, answer_id: int) -> int:
    answer = session.get_one(Answer, answer_id)
    return queue_message(
        session, dispatch=answer.dispatch, kind=MessageKind.KVITTENS, stage=answer.version
    ).id


def mark_processed(session: Session, *, answer_id: int, now: dt.datetime) -> None:
    answer = session.get_one(Answer, answer_id)
    if answer.processed_at is None:
        answer.processed_at = now
        log_event(
            session,
            dispatch_id=answer.dispatch_id,
            kind=EventKind.ANSWER_PROCESSED,
            now=now,
            answer_id=answer.id,
            version=answer.version,
        )


def unprocessed_answers(session: Session) -> list[int]:
    return list(
        session.scalars(select(Answer.id).where(Answer.processed_at.is_(None)).order_by(Answer.id))
    )


# What the process-answer flow does, step by step, each step in its own transaction.


def prepare_kvittens(settings: Settings, *, answer_id: int) -> int:
    """Store the kvittens for the answer (once per version); its message id."""
    with session_scope(settings.database_url) as session:
        return queue_kvittens(session, answer_id=answer_id)


def record_processed(settings: Settings, *, answer_id: int, now: dt.datetime) -> None:
    with session_scope(settings.database_url) as session:
        mark_processed(session, answer_id=answer_id, now=now)


def answers_to_process(settings: Settings) -> list[int]:
    with session_scope(settings.database_url) as session:
        return unprocessed_answers(session)


def round_of_answer(settings: Settings, *, answer_id: int) -> int:
    with session_scope(settings.database_url) as session:
        return session.get_one(Answer, answer_id).dispatch.round_id
