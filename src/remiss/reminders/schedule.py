"""When a dispatch next needs the sweep, and to whom a reminder goes: the reminder rules
applied to what is stored of a dispatch (loaded, not queried one by one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from remiss.core.states import PAMINNELSE_PREFIX, AnstandState, RoundState
from remiss.db.models import Answer, Dispatch, Round
from remiss.reminders.policy import (
    ESKALERING,
    DispatchFacts,
    Policy,
    next_reminder_at,
    parse_policy,
)


def round_policy(rnd: Round) -> Policy:
    return parse_policy(rnd.reminder_policy or {}, source=f"omgång {rnd.id}")


def jointly_answered(session: Session, *, round_id: int) -> set[str]:
    """Codes named in the current answer of some dispatch of the round (one query)."""
    rows = session.execute(
        select(Answer.dispatch_id, Answer.joint_with)
        .join(Dispatch)
        .where(Dispatch.round_id == round_id)
        .order_by(Answer.dispatch_id, Answer.version)
    ).all()
    current = {dispatch_id: joint for dispatch_id, joint in rows}  # the last version wins
    return {code for joint in current.values() for code in joint}


def is_done(dispatch: Dispatch, joint: set[str] | None = None) -> bool:
    """Answered (by itself or in another's joint answer) or declined.

    `joint`: jointly_answered() for the round, when the caller checks many dispatches.
    """
    if dispatch.current_answer is not None or dispatch.declined_at is not None:
        return True
    if joint is None:
        session = object_session(dispatch)
        assert session is not None
        joint = jointly_answered(session, round_id=dispatch.round_id)
    return dispatch.remissinstans.code in joint


def facts(dispatch: Dispatch, joint: set[str] | None = None) -> DispatchFacts:
    return DispatchFacts(
        deadline=dispatch.deadline,
        sent_at=dispatch.sent_at,
        done=is_done(dispatch, joint) or dispatch.round.state != RoundState.OPEN,
        sent_stages=frozenset(
            (m.kind, m.stage) for m in dispatch.messages if m.kind.startswith(PAMINNELSE_PREFIX)
        ),
        anstand_decided_at=max(
            (
                a.decided_at
                for a in dispatch.anstand
                if a.state == AnstandState.GRANTED and a.decided_at
            ),
            default=None,
        ),
    )


def reschedule(
    dispatch: Dispatch, *, tz: str, now: dt.datetime, joint: set[str] | None = None
) -> None:
    """Recompute when the sweep next needs this dispatch, from what is loaded of it now."""
    dispatch.next_reminder_at = next_reminder_at(
        facts(dispatch, joint), round_policy(dispatch.round), tz, now=now
    )


def refresh(session: Session, *, dispatch: Dispatch, tz: str, now: dt.datetime) -> None:
    """Reload what the rules read and reschedule (after a send, answer, anstånd...)."""
    session.flush()
    session.refresh(dispatch, ["messages", "answers", "anstand"])
    reschedule(dispatch, tz=tz, now=now)


def load_for_rules(session: Session, *, dispatch_ids: Sequence[int]) -> list[Dispatch]:
    """Load these dispatches and all the rules read of them, a few queries for all of them.

    Lazy loading took some ten queries per dispatch. Keep the returned list while working
    on them: the session holds its objects only weakly.
    """
    return list(
        session.scalars(
            select(Dispatch)
            .where(Dispatch.id.in_(dispatch_ids))
            .options(
                selectinload(Dispatch.messages),
                selectinload(Dispatch.answers),
                selectinload(Dispatch.anstand),
                selectinload(Dispatch.events),
                joinedload(Dispatch.round),
                joinedload(Dispatch.remissinstans),
            )
        )
    )


ESCALATION_ROLES = {"förvaltningschef", "eskalering", "vd", "ordförande"}


def escalation_contacts(dispatch: Dispatch) -> list[dict[str, Any]]:
    return [
        c
        for c in dispatch.remissinstans.contacts
        if (c.get("roll") or "").lower() in ESCALATION_ROLES
    ]


def reminder_recipients(
    dispatch: Dispatch, stage_kind: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(to, cc): escalations go to the escalation contact with the handläggare in copy."""
    handlaggare = dispatch.round.case.handlaggare_epost
    if stage_kind == ESKALERING:
        escalation = escalation_contacts(dispatch)
        if escalation:
            return tuple(c["epost"] for c in escalation), (dispatch.email, handlaggare)
        return (dispatch.email,), (handlaggare,)
    return (dispatch.email,), ((dispatch.contact_email,) if dispatch.contact_email else ())
