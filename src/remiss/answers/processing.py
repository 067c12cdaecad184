"""After an answer is stored: the kvittens, and the sweep that catches what was not processed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.db.models import Answer, Event, OutgoingMessage
from remiss.outbox.compose import KVITTENS
from remiss.rounds.service import MISSIV, queue_message


def queue_kvittens(session: Session, answer_id: int) -> int:
    answer = session.get_one(Answer, answer_id)
    return queue_message(session, answer.dispatch, KVITTENS, answer.version).id


def mark_processed(session: Session, answer_id: int, *, now: dt.datetime) -> None:
    answer = session.get_one(Answer, answer_id)
    if answer.processed_at is None:
        answer.processed_at = now
        session.add(
            Event(
                dispatch_id=answer.dispatch_id,
                at=now,
                kind="answer_processed",
                detail={"answer_id": answer.id, "version": answer.version},
            )
        )


def unprocessed_answers(session: Session) -> list[int]:
    return list(
        session.scalars(select(Answer.id).where(Answer.processed_at.is_(None)).order_by(Answer.id))
    )


def unsent_messages(session: Session) -> list[int]:
    """Kvittenser and decisions not yet sent (a missiv belongs to its round's send flow)."""
    return list(
        session.scalars(
            select(OutgoingMessage.id)
            .where(
                OutgoingMessage.state.in_(("pending", "sending")), OutgoingMessage.kind != MISSIV
            )
            .order_by(OutgoingMessage.id)
        )
    )


def message_states(session: Session, message_ids: list[int]) -> list[str]:
    """Per message, as a send result: sent, failed, or unsent (still to be sent)."""
    states = session.scalars(
        select(OutgoingMessage.state).where(OutgoingMessage.id.in_(message_ids))
    )
    return [s if s in ("sent", "failed") else "unsent" for s in states]
