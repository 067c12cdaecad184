"""Stadsledningskontoret's decisions on requests for anstånd."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.answers.service import clean_email, clean_text, require_open
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.states import AnstandState, EventKind, MessageKind
from remiss.db.events import log_event
from remiss.db.models import Anstand, Dispatch, OutgoingMessage
from remiss.reminders import schedule
from remiss.rounds.service import queue_message


def pending(session: Session, *, round_id: int | None = None) -> list[Anstand]:
    query = select(Anstand).where(Anstand.state == AnstandState.REQUESTED).order_by(Anstand.id)
    if round_id is not None:
        query = query.join(Dispatch).where(Dispatch.round_id == round_id)
    return list(session.scalars(query))


def decide(
    session: Session,
    *,
    anstand_id: int,
    grant: bool,
    now: dt.datetime,
    tz: str,
    new_date: dt.date | None = None,
    note: str | None = None,
) -> OutgoingMessage:
    """Grant (moving the dispatch's deadline) or refuse; returns the decision e-mail to send."""
    request = session.get(Anstand, anstand_id)
    if request is None:
        raise NotFoundError(f"Det finns ingen begäran om anstånd med nummer {anstand_id}.")
    if request.state != AnstandState.REQUESTED:
        verdict = {AnstandState.GRANTED: "beviljad", AnstandState.REFUSED: "avslagen"}.get(
            request.state, request.state
        )
        raise ConflictError(f"Begäran {anstand_id} är redan avgjord ({verdict}).")
    dispatch = request.dispatch
    if grant:
        day = new_date or request.requested_date
        if not dates.is_working_day(day):
            raise InputError(
                f"svarsdagen måste vara en arbetsdag ({dates.non_working_reason(day)})",
                field="--date",
                value=day.isoformat(),
            )
        if day <= dispatch.deadline:
            raise InputError(
                "ett anstånd måste gå längre än nuvarande svarsdag "
                f"{dispatch.deadline.isoformat()}",
                field="--date",
                value=day.isoformat(),
            )
        request.granted_date = day
        previous = dispatch.deadline
        dispatch.deadline = day
    request.state = AnstandState.GRANTED if grant else AnstandState.REFUSED
    request.decided_at = now
    request.decision_note = (note or "").strip() or None
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.ANSTAND_GRANTED if grant else EventKind.ANSTAND_REFUSED,
        now=now,
        anstand_id=request.id,
        **({"from": previous.isoformat(), "to": day.isoformat()} if grant else {}),
    )
    message = queue_message(
        session, dispatch=dispatch, kind=MessageKind.ANSTAND_BESLUT, stage=request.id
    )
    # The whole schedule follows the new deadline.
    schedule.refresh(session, dispatch=dispatch, tz=tz, now=now)
    return message


def request_anstand(
    session: Session,
    *,
    dispatch: Dispatch,
    new_date: str | None,
    reason: str | None,
    requested_by: str | None,
    now: dt.datetime,
) -> Anstand:
    require_open(dispatch)
    if dispatch.current_answer is not None or dispatch.declined_at is not None:
        raise InputError("Ni har redan svarat på remissen; anstånd behövs inte.")
    try:
        day = dates.parse_date(new_date or "")
    except ValueError as exc:
        raise InputError(
            "Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2027-02-15.", field="datum"
        ) from exc
    if not dates.is_working_day(day):
        raise InputError(
            f"Datumet är ingen arbetsdag ({dates.non_working_reason(day)}). Välj en arbetsdag.",
            field="datum",
        )
    if day <= dispatch.deadline or day <= dates.local_today(now):
        raise InputError(
            "Det nya datumet måste vara senare än nuvarande svarsdag "
            f"({dispatch.deadline.isoformat()}).",
            field="datum",
        )
    reason_text = clean_text(reason, field="skal", max_len=2000, required=True)
    assert reason_text is not None
    if any(a.state == AnstandState.REQUESTED for a in dispatch.anstand):
        raise InputError("Ni har redan en begäran om anstånd som väntar på beslut.")
    request = Anstand(
        dispatch=dispatch,
        requested_at=now,
        requested_date=day,
        reason=reason_text,
        # Its column is shorter than an e-mail address may be (254 characters).
        requested_by=clean_email(requested_by, field="epost", max_len=200),
        state=AnstandState.REQUESTED,
    )
    session.add(request)
    session.flush()
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.ANSTAND_REQUESTED,
        now=now,
        anstand_id=request.id,
        date=day.isoformat(),
    )
    return request
