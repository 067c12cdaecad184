"""Reminders in the database: which dispatches are due, claiming each stage once.

The sweep reads only dispatches whose indexed `next_reminder_at` has passed, so its
work grows with what is due, not with the number of open dispatches.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from remiss.core import dates
from remiss.core.keys import message_ref
from remiss.core.settings import Settings
from remiss.core.states import (
    PAMINNELSE_PREFIX,
    UNSENT,
    EventKind,
    MessageState,
    RoundState,
)
from remiss.db.engine import session_scope
from remiss.db.models import Base, Dispatch, Event, OutgoingMessage, Round
from remiss.reminders.policy import Stage, due_stage, next_reminder_at
from remiss.reminders.schedule import (
    RuleInput,
    among,
    facts,
    reminder_recipients,
    round_policy,
    rule_inputs,
)
from remiss.rounds.service import message_key


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


def _table(model: type[Base]) -> Table:
    """The model's table: Core statements on it skip the ORM's per-row bookkeeping."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING: PostgreSQL and SQLite
    (3.35 and later) spell it the same, each through its own dialect's construct. Run with
    a list of rows it is one statement for up to a thousand (SQLAlchemy's insertmanyvalues),
    compiled once: a VALUES list built by hand is compiled anew for every batch."""
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    table = _table(OutgoingMessage)
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.idempotency_key])
        .returning(table.c.id, table.c.dispatch_id)
    )


def claim_many(
    session: Session, *, dispatch_ids: Sequence[int], now: dt.datetime, tz: str
) -> list[int]:
    """Claim the due reminders of many dispatches in one transaction; their message ids,
    also of those another sweep created at the same moment.

    What the rules read is loaded as rows for all of them (rule_inputs), the pure rules
    decide each, and one statement creates every reminder message: the unique idempotency
    key decides a race, so each stage is created once whoever comes first. Then the
    events of the messages created here, and when the sweep next needs each dispatch.
    """
    inputs = rule_inputs(session, dispatch_ids=dispatch_ids)
    due: dict[int, Stage] = {}
    next_at: dict[dt.datetime | None, list[int]] = defaultdict(list)
    for dispatch_id in dispatch_ids:
        given = inputs[dispatch_id]
        after = given.facts
        stage = due_stage(given.facts, given.policy, tz, now)
        if stage is not None:
            due[dispatch_id] = stage
            after = replace(
                after, sent_stages=after.sent_stages | {(stage.message_kind, stage.message_stage)}
            )
        next_at[next_reminder_at(after, given.policy, tz, now=now)].append(dispatch_id)
    keys = {
        dispatch_id: message_key(
            inputs[dispatch_id].round_uid,
            inputs[dispatch_id].code,
            stage.message_kind,
            stage.message_stage,
        )
        for dispatch_id, stage in due.items()
    }
    created: dict[int, int] = {}
    if due:
        rows: list[dict[str, object]] = [
            {
                "dispatch_id": dispatch_id,
                "kind": stage.message_kind,
                "stage": stage.message_stage,
                "idempotency_key": keys[dispatch_id],
                "state": MessageState.PENDING,
                "attempts": 0,
                "message_ref": message_ref(keys[dispatch_id]),
            }
            for dispatch_id, stage in due.items()
        ]
        created = {d: m for m, d in session.execute(_insert_ignoring_duplicates(session), rows)}
    if created:
        # RETURNING makes SQLAlchemy send the rows as one INSERT (psycopg would otherwise
        # execute it once per row).
        session.execute(
            insert(_table(Event)).returning(_table(Event).c.id),
            [
                {
                    "dispatch_id": dispatch_id,
                    "at": now,
                    "kind": EventKind.REMINDER_QUEUED,
                    "detail": {
                        "stage": due[dispatch_id].name,
                        "deadline": due[dispatch_id].deadline.isoformat(),
                        "message_id": message_id,
                    },
                }
                for dispatch_id, message_id in created.items()
            ],
        )
    # Created by another sweep after this one read: its id all the same, as the claim on
    # sending decides who sends it, and the sums then count it.
    taken = [keys[d] for d in due if d not in created]
    others = (
        list(
            session.scalars(
                select(OutgoingMessage.id).where(OutgoingMessage.idempotency_key.in_(taken))
            )
        )
        if taken
        else []
    )
    for when, ids in next_at.items():
        session.execute(
            update(Dispatch)
            .where(among(session, Dispatch.id, ids))
            .values(next_reminder_at=when)
            .execution_options(synchronize_session=False)
        )
    return [*created.values(), *others]


def unsent_reminders(
    session: Session, *, now: dt.datetime, tz: str, just_claimed: Collection[int] = ()
) -> list[int]:
    """Reminders queued but not sent (a sweep stopped half way) that are still right to send.

    One whose dispatch has since answered or declined, or whose deadline has moved, is
    cancelled instead; on a day off nothing is sent. `just_claimed`: what this sweep has
    just claimed, from facts read moments ago; kept without reading them again.
    """
    if not dates.is_working_day(dates.local_today(now, tz)):
        return []
    pending = session.execute(
        select(
            OutgoingMessage.id,
            OutgoingMessage.dispatch_id,
            OutgoingMessage.kind,
            OutgoingMessage.stage,
            OutgoingMessage.state,
        )
        .join(Dispatch)
        .join(Round)
        .where(
            OutgoingMessage.kind.startswith(PAMINNELSE_PREFIX),
            OutgoingMessage.state.in_(UNSENT),
            Round.state == RoundState.OPEN,
        )
        .order_by(OutgoingMessage.id)
    ).all()
    known = set(just_claimed)
    dispatch_ids = sorted({p.dispatch_id for p in pending if p.id not in known})
    inputs: dict[int, RuleInput] = {}
    for start in range(0, len(dispatch_ids), CLAIMS_PER_TRANSACTION):
        inputs |= rule_inputs(
            session, dispatch_ids=dispatch_ids[start : start + CLAIMS_PER_TRANSACTION]
        )
    keep, cancel = [], []
    for message in pending:
        if message.id in known:
            keep.append(message.id)
            continue
        facts = inputs[message.dispatch_id].facts
        current = int(facts.deadline.strftime("%Y%m%d"))
        # A half-sent one may already be out; send_message asks the backend before resending.
        if message.state == MessageState.PENDING and (facts.done or message.stage != current):
            cancel.append(message.id)
        else:
            keep.append(message.id)
    if cancel:
        table = _table(OutgoingMessage)
        # Only while still pending: one a sender has claimed meanwhile is its to decide.
        cancelled = session.execute(
            update(table)
            .where(among(session, table.c.id, cancel), table.c.state == MessageState.PENDING)
            .values(state=MessageState.CANCELLED)
            .returning(table.c.id, table.c.dispatch_id, table.c.kind)
        ).all()
        if cancelled:
            session.execute(
                insert(_table(Event)),
                [
                    {
                        "dispatch_id": dispatch_id,
                        "at": now,
                        "kind": EventKind.REMINDER_CANCELLED,
                        "detail": {"message_id": message_id, "message": kind},
                    }
                    for message_id, dispatch_id, kind in cancelled
                ],
            )
    return keep


CLAIMS_PER_TRANSACTION = 1000


def queue_due(settings: Settings, *, now: dt.datetime) -> list[int]:
    """Claim every stage due at `now`, a thousand dispatches per transaction, and pick up
    reminders claimed earlier but not sent; the messages to send."""
    with session_scope(settings.database_url) as session:
        due = due_dispatch_ids(session, now=now)
    message_ids: list[int] = []
    for start in range(0, len(due), CLAIMS_PER_TRANSACTION):
        chunk = due[start : start + CLAIMS_PER_TRANSACTION]
        with session_scope(settings.database_url) as session:
            message_ids += claim_many(session, dispatch_ids=chunk, now=now, tz=settings.timezone)
    with session_scope(settings.database_url) as session:
        leftovers = unsent_reminders(
            session, now=now, tz=settings.timezone, just_claimed=message_ids
        )
    return sorted(set(message_ids) | set(leftovers))
