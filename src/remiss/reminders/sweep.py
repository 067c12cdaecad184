"""Reminders in the database: which dispatches are due, claiming each stage once.

The sweep reads only dispatches whose indexed `next_reminder_at` has passed, so its
work grows with what is due, not with the number of open dispatches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remiss.core import dates
from remiss.core.settings import Settings
from remiss.core.states import (
    PAMINNELSE_PREFIX,
    UNSENT,
    EventKind,
    MessageState,
    RoundState,
)
from remiss.db.engine import savepoint, session_scope
from remiss.db.events import log_event
from remiss.db.models import Dispatch, OutgoingMessage, Round
from remiss.reminders.policy import (
    Stage,
    due_stage,
)
from remiss.reminders.schedule import (
    facts,
    is_done,
    jointly_answered,
    load_for_rules,
    reminder_recipients,
    reschedule,
    round_policy,
)
from remiss.rounds.service import queue_message


def due_dispatch_ids(session: Session, *, now: dt.datetime) -> list[int]:
    return list(
        session.scalars(
            select(Dispatch.id)
            .where(Dispatch.next_reminder_at <= now)
            .order_by(Dispatch.next_reminder_at, Dispatch.id)
        )
    )


@dataclass(frozen=True)
class PlannedReminder:
    dispatch_id: int
    name: str
    stage: Stage
    to: tuple[str, ...]
    cc: tuple[str, ...]


def plan(
    session: Session,
    *,
    dispatch_id: int,
    now: dt.datetime,
    tz: str,
    joint: set[str] | None = None,
) -> PlannedReminder | None:
    """The reminder this dispatch should get now, if any (reads only)."""
    dispatch = session.get_one(Dispatch, dispatch_id)
    stage = due_stage(facts(dispatch, joint), round_policy(dispatch.round), tz, now)
    if stage is None:
        return None
    to, cc = reminder_recipients(dispatch, stage.kind)
    return PlannedReminder(dispatch.id, dispatch.name, stage, to, cc)


def claim(
    session: Session,
    *,
    dispatch_id: int,
    now: dt.datetime,
    tz: str,
    joint: set[str] | None = None,
) -> int | None:
    """Queue the due reminder once (the message's unique key decides races); its message id,
    also when another sweep queued it first.

    `joint`: jointly_answered() for the dispatch's round, when the caller claims many.
    """
    planned = plan(session, dispatch_id=dispatch_id, now=now, tz=tz, joint=joint)
    dispatch = session.get_one(Dispatch, dispatch_id)
    if planned is None:
        reschedule(dispatch, tz=tz, now=now, joint=joint)
        return None
    stage = planned.stage
    try:
        with savepoint(session):
            message = queue_message(
                session, dispatch=dispatch, kind=stage.message_kind, stage=stage.message_stage
            )
    except IntegrityError:
        # Another sweep queued it at the same moment. Its id is returned all the same: the
        # claim on sending decides who sends it, and the sums then count it.
        return session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.dispatch_id == dispatch_id,
                OutgoingMessage.kind == stage.message_kind,
                OutgoingMessage.stage == stage.message_stage,
            )
        ).first()
    if not any(
        e.kind == EventKind.REMINDER_QUEUED and e.detail.get("message_id") == message.id
        for e in dispatch.events
    ):
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.REMINDER_QUEUED,
            now=now,
            stage=stage.name,
            deadline=stage.deadline.isoformat(),
            message_id=message.id,
        )
    # Only the messages changed here (answers and anstånd cannot have, in this transaction).
    session.flush()
    session.refresh(dispatch, ["messages"])
    reschedule(dispatch, tz=tz, now=now, joint=joint)
    return message.id


def claim_many(
    session: Session, *, dispatch_ids: Sequence[int], now: dt.datetime, tz: str
) -> list[int]:
    """Claim the due reminders of many dispatches in one transaction; their message ids."""
    loaded = {d.id: d for d in load_for_rules(session, dispatch_ids=dispatch_ids)}
    joint: dict[int, set[str]] = {}
    claimed = []
    for dispatch_id in dispatch_ids:
        round_id = loaded[dispatch_id].round_id
        if round_id not in joint:
            joint[round_id] = jointly_answered(session, round_id=round_id)
        message_id = claim(session, dispatch_id=dispatch_id, now=now, tz=tz, joint=joint[round_id])
        if message_id is not None:
            claimed.append(message_id)
    return claimed


def unsent_reminders(session: Session, *, now: dt.datetime, tz: str) -> list[int]:
    """Reminders queued but not sent (a sweep stopped half way) that are still right to send.

    One whose dispatch has since answered or declined, or whose deadline has moved, is
    cancelled instead; on a day off nothing is sent.
    """
    if not dates.is_working_day(dates.local_today(now, tz)):
        return []
    pending = session.scalars(
        select(OutgoingMessage)
        .join(Dispatch)
        .join(Round)
        .where(
            OutgoingMessage.kind.startswith(PAMINNELSE_PREFIX),
            OutgoingMessage.state.in_(UNSENT),
            Round.state == RoundState.OPEN,
        )
        .order_by(OutgoingMessage.id)
    )
    keep = []
    joint: dict[int, set[str]] = {}
    for message in pending:
        dispatch = message.dispatch
        if dispatch.round_id not in joint:
            joint[dispatch.round_id] = jointly_answered(session, round_id=dispatch.round_id)
        done = is_done(dispatch, joint[dispatch.round_id])
        current = int(dispatch.deadline.strftime("%Y%m%d"))
        # A half-sent one may already be out; send_message asks the backend before resending.
        if message.state == MessageState.PENDING and (done or message.stage != current):
            message.state = MessageState.CANCELLED
            log_event(
                session,
                dispatch_id=dispatch.id,
                kind=EventKind.REMINDER_CANCELLED,
                now=now,
                message_id=message.id,
                message=message.kind,
            )
        else:
            keep.append(message.id)
    return keep


CLAIMS_PER_TRANSACTION = 100


def queue_due(settings: Settings, *, now: dt.datetime) -> list[int]:
    """Claim every stage due at `now`, a hundred dispatches per transaction, and pick up
    reminders claimed earlier but not sent; the messages to send."""
    with session_scope(settings.database_url) as session:
        due = due_dispatch_ids(session, now=now)
    message_ids: list[int] = []
    for start in range(0, len(due), CLAIMS_PER_TRANSACTION):
        chunk = due[start : start + CLAIMS_PER_TRANSACTION]
        with session_scope(settings.database_url) as session:
            message_ids += claim_many(session, dispatch_ids=chunk, now=now, tz=settings.timezone)
    with session_scope(settings.database_url) as session:
        leftovers = unsent_reminders(session, now=now, tz=settings.timezone)
    return sorted(set(message_ids) | set(leftovers))
