"""Stadsledningskontoret's decisions on requests for anstånd."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.answers.service import (
    DATE_EXAMPLE,
    Problems,
    clean_email,
    clean_text,
    parse_form_date,
    refuse_if_answered_jointly,
    require_open,
)
from remiss.core import dates
from remiss.core.dates import swedish_date
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.settings import DEFAULT_ANSTAND_MAX_DAYS
from remiss.core.states import AnstandState, EventKind, MessageKind
from remiss.db.events import log_event
from remiss.db.models import Anstand, Dispatch, OutgoingMessage
from remiss.register.meetings import motion_limit
from remiss.reminders import schedule
from remiss.rounds.service import queue_message


@dataclass(frozen=True)
class AnstandDate:
    """What the rule says of a date asked or granted: the latest date allowed, and why
    the date is refused (in Swedish, for the official or the handläggare), or None."""

    latest: dt.date
    refusal: str | None


def latest_anstand_date(
    *, round_deadline: dt.date, max_days: int, vackt: dt.date | None
) -> tuple[dt.date, str]:
    """The latest working day an anstånd may reach, and what sets it (in Swedish).

    At most `max_days` calendar days after the round's deadline (not the dispatch's, which
    an earlier anstånd may have moved), and never after a motion's one-year limit.
    """
    latest = round_deadline + dt.timedelta(days=max_days)
    why = f"{max_days} dagar efter remissens svarsdag {swedish_date(round_deadline)}"
    if vackt is not None and motion_limit(vackt) < latest:
        latest = motion_limit(vackt)
        why = (
            f"motionen väcktes {swedish_date(vackt)} och ska avgöras inom ett år, "
            "kommunallagen 5 kap. 35 §"
        )
    while not dates.is_working_day(latest):
        latest -= dt.timedelta(days=1)
    return latest, why


def check_anstand_date(
    day: dt.date,
    *,
    current_deadline: dt.date,
    round_deadline: dt.date,
    max_days: int,
    vackt: dt.date | None,
) -> AnstandDate:
    """A date for an anstånd must lie after the current deadline, be a working day, and
    reach no further than `latest_anstand_date`."""
    latest, why = latest_anstand_date(round_deadline=round_deadline, max_days=max_days, vackt=vackt)
    if day <= current_deadline:
        refusal: str | None = (
            "Det nya datumet måste vara senare än nuvarande svarsdag, "
            f"{swedish_date(current_deadline)}."
        )
    elif latest <= current_deadline:
        refusal = (
            f"Svarsdagen kan inte flyttas längre än till {swedish_date(latest)} ({why}); "
            f"nuvarande svarsdag är {swedish_date(current_deadline)}."
        )
    elif day > latest:
        refusal = (
            f"Anstånd kan ges till och med {swedish_date(latest)} ({why}). Välj ett tidigare datum."
        )
    elif not dates.is_working_day(day):
        refusal = (
            f"Datumet är ingen arbetsdag ({dates.non_working_reason(day)}). Välj en arbetsdag."
        )
    else:
        refusal = None
    return AnstandDate(latest=latest, refusal=refusal)


def _motion_vackt(dispatch: Dispatch) -> dt.date | None:
    case = dispatch.round.case
    return case.vackt if case.arendetyp == "motion" else None


def latest_for(dispatch: Dispatch, *, max_days: int) -> dt.date:
    """The latest date this dispatch's anstånd may reach (shown by the answer page)."""
    latest, _ = latest_anstand_date(
        round_deadline=dispatch.round.svar_senast, max_days=max_days, vackt=_motion_vackt(dispatch)
    )
    return latest


def _check_for(dispatch: Dispatch, day: dt.date, *, max_days: int) -> AnstandDate:
    return check_anstand_date(
        day,
        current_deadline=dispatch.deadline,
        round_deadline=dispatch.round.svar_senast,
        max_days=max_days,
        vackt=_motion_vackt(dispatch),
    )


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
    max_days: int = DEFAULT_ANSTAND_MAX_DAYS,
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
        # The requested date too: one stored before the form was bounded may lie too far.
        refusal = _check_for(dispatch, day, max_days=max_days).refusal
        if refusal is not None:
            raise InputError(refusal, field="--date", value=day.isoformat())
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


def _requested_date(
    dispatch: Dispatch, text: str | None, *, now: dt.datetime, max_days: int
) -> dt.date:
    if not (text or "").strip():
        raise InputError("Ange vilket datum ni behöver anstånd till.", field="datum")
    try:
        day = parse_form_date(text or "")
    except ValueError as exc:
        raise InputError(f"Ange datumet som ÅÅÅÅ-MM-DD, {DATE_EXAMPLE}.", field="datum") from exc
    refusal = _check_for(dispatch, day, max_days=max_days).refusal
    if refusal is None and day <= dates.local_today(now):
        refusal = (
            "Det nya datumet måste vara senare än i dag och än nuvarande svarsdag, "
            f"{dates.swedish_date(dispatch.deadline)}."
        )
    if refusal is not None:
        raise InputError(refusal, field="datum")
    return day


def request_anstand(
    session: Session,
    *,
    dispatch: Dispatch,
    new_date: str | None,
    reason: str | None,
    requested_by: str | None,
    now: dt.datetime,
    max_days: int = DEFAULT_ANSTAND_MAX_DAYS,
) -> Anstand:
    require_open(dispatch)
    if dispatch.answered:
        raise InputError("Ni har redan svarat på remissen, så anstånd behövs inte.")
    if dispatch.declined_at is not None:
        raise InputError("Ni har meddelat att ni avstår, så anstånd behövs inte.")
    refuse_if_answered_jointly(session, dispatch=dispatch)
    if any(a.state == AnstandState.REQUESTED for a in dispatch.anstand):
        raise InputError("Ni har redan en begäran om anstånd som väntar på beslut.")
    # Every field's mistake at once: the official should not fix one and meet the next.
    problems = Problems()
    day = problems.take(lambda: _requested_date(dispatch, new_date, now=now, max_days=max_days))
    reason_text = problems.take(
        lambda: clean_text(
            reason, field="skal", max_len=2000, missing="Ange skälet till att ni behöver anstånd."
        )
    )
    # Its column is shorter than an e-mail address may be (254 characters).
    email = problems.take(lambda: clean_email(requested_by, field="epost", max_len=200))
    problems.raise_any()
    assert day is not None
    assert reason_text is not None
    request = Anstand(
        dispatch=dispatch,
        requested_at=now,
        requested_date=day,
        reason=reason_text,
        requested_by=email,
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
