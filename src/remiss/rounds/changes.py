"""Changes to a running round from the workspace: a later deadline for everyone, one more
remissinstans, a corrected address for a remiss that bounced.

Each function validates first (an `InputError` names the form field), then changes the
round, queues what must be sent as `OutgoingMessage` rows and writes the audit entry, all
in the caller's transaction. Nothing is sent here: the caller hands the round's unsent
messages to the send flow once the transaction is committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.audit.log import record
from remiss.cases.casefile import ad_hoc_code
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.states import DispatchState, EventKind, MessageKind, RoundState
from remiss.core.validation import email_field
from remiss.db.events import log_event
from remiss.db.models import Dispatch, Event, OutgoingMessage, RemissinstansRow, Round
from remiss.register.instances import KINDS, Remissinstans
from remiss.register.meetings import motion_limit
from remiss.reminders import schedule
from remiss.rounds.service import ad_hoc_row, queue_message

# The form fields the errors belong to (the workspace's field names).
NEW_DEADLINE = "ny_svarsdag"
RECIPIENT = "remissinstans"
RECIPIENT_DEADLINE = "svarsdag_ny_instans"
NEW_EMAIL = "ny_epost"
OUTSIDE_NAME = "utanfor_namn"
OUTSIDE_EMAIL = "utanfor_epost"
OUTSIDE_KIND = "utanfor_typ"
OUTSIDE_DEADLINE = "svarsdag_utanfor"

DATE_FORMAT_TEXT = "Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2027-02-15."


def open_round(session: Session, *, round_id: int, field: str) -> Round:
    """The round, locked against a concurrent change; closed rounds are not changed."""
    rnd = session.get(Round, round_id, with_for_update=True)
    if rnd is None:
        raise InputError("Remissomgången finns inte.", field=field)
    if rnd.state != RoundState.OPEN:
        raise InputError("Remissomgången är avslutad och kan inte ändras.", field=field)
    return rnd


def _parse_day(text: str | dt.date, *, field: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    if not text.strip():
        raise InputError("Ange ett datum.", field=field)
    try:
        return dates.parse_date(text)
    except ValueError as exc:
        raise InputError(DATE_FORMAT_TEXT, field=field) from exc


def _check_day(day: dt.date, *, rnd: Round, today: dt.date, field: str) -> None:
    """A deadline set in the workspace: after today, a working day, within a motion's year."""
    if day <= today:
        raise InputError(
            f"Datumet måste ligga efter i dag ({dates.swedish_date(today)}).", field=field
        )
    reason = dates.non_working_reason(day)
    if reason:
        raise InputError(
            f"{dates.swedish_date(day)} är ingen arbetsdag ({reason}). Välj en arbetsdag.",
            field=field,
        )
    case = rnd.case
    if case.arendetyp == "motion" and case.vackt is not None and day > motion_limit(case.vackt):
        raise InputError(
            f"Motionen väcktes {dates.swedish_date(case.vackt)} och ska avgöras inom ett år "
            "(kommunallagen 5 kap. 35 §). Svarsdagen kan vara senast "
            f"{dates.swedish_date(motion_limit(case.vackt))}.",
            field=field,
        )


@dataclass(frozen=True)
class Extension:
    """What extending the deadline did: the round's old and new date, the dispatches
    whose deadline moved (the others already had a later one by anstånd), and the
    messages queued to tell those that have not answered."""

    previous: dt.date
    new: dt.date
    moved: tuple[int, ...]
    kept: tuple[int, ...]
    notices: tuple[int, ...] = ()


def extend_deadline(
    session: Session,
    *,
    round_id: int,
    new_date: str | dt.date,
    user: str,
    now: dt.datetime,
    tz: str,
) -> Extension:
    """Move the round's deadline, and every dispatch's that is earlier, to `new_date`;
    the reminders follow the new deadline."""
    rnd = open_round(session, round_id=round_id, field=NEW_DEADLINE)
    day = _parse_day(new_date, field=NEW_DEADLINE)
    if day <= rnd.svar_senast:
        raise InputError(
            "Den nya svarsdagen måste vara senare än nuvarande svarsdag "
            f"({dates.swedish_date(rnd.svar_senast)}).",
            field=NEW_DEADLINE,
        )
    _check_day(day, rnd=rnd, today=dates.local_today(now, tz), field=NEW_DEADLINE)
    previous = rnd.svar_senast
    rnd.svar_senast = day
    dispatches = schedule.load_for_rules(session, dispatch_ids=[d.id for d in rnd.dispatches])
    moved, kept = [], []
    for dispatch in dispatches:
        if dispatch.deadline >= day:
            kept.append(dispatch.id)  # a granted anstånd already reaches as far
            continue
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.DEADLINE_EXTENDED,
            now=now,
            **{"from": dispatch.deadline.isoformat(), "to": day.isoformat()},
        )
        dispatch.deadline = day
        moved.append(dispatch.id)
    session.flush()
    joint = schedule.jointly_answered(session, round_id=rnd.id)
    notices = []
    for dispatch in dispatches:
        if dispatch.id in moved:
            # The schedule counts from the extension (see schedule.facts), as from an anstånd.
            session.refresh(dispatch, ["events"])
            schedule.reschedule(dispatch, tz=tz, now=now, joint=joint)
            if dispatch.sent_at is not None and not schedule.is_done(dispatch, joint):
                # Told by e-mail, once per new date; a remiss not yet sent carries the
                # new date itself, and one already answered or declined needs nothing.
                notice = queue_message(
                    session, dispatch=dispatch, kind=MessageKind.NY_SVARSTID, stage=day.toordinal()
                )
                notices.append(notice.id)
    record(
        session,
        user=user,
        action="deadline_extended",
        now=now,
        round_id=rnd.id,
        **{"from": previous.isoformat(), "to": day.isoformat(), "moved": len(moved)},
    )
    return Extension(
        previous=previous, new=day, moved=tuple(moved), kept=tuple(kept), notices=tuple(notices)
    )


def addable_instances(session: Session, *, round_id: int) -> list[RemissinstansRow]:
    """Register entries not yet in the round, by name (ad hoc ones belong to their case)."""
    taken = select(Dispatch.remissinstans_id).where(Dispatch.round_id == round_id)
    return list(
        session.scalars(
            select(RemissinstansRow)
            .where(RemissinstansRow.ad_hoc.is_(False), RemissinstansRow.id.not_in(taken))
            .order_by(RemissinstansRow.name)
        )
    )


@dataclass(frozen=True)
class Added:
    dispatch: Dispatch
    created: bool  # False: the same addition was already made (a second submit)


def add_recipient(
    session: Session,
    *,
    round_id: int,
    code: str,
    deadline: str | dt.date | None,
    user: str,
    now: dt.datetime,
    tz: str,
) -> Added:
    """Add a remissinstans from the register to a running round: a dispatch with the
    round's deadline (or the later one given) and its remissmissiv, queued to be sent."""
    rnd = open_round(session, round_id=round_id, field=RECIPIENT)
    row = session.scalars(
        select(RemissinstansRow).where(
            RemissinstansRow.code == code.strip(), RemissinstansRow.ad_hoc.is_(False)
        )
    ).first()
    if row is None:
        raise InputError("Välj en remissinstans i listan.", field=RECIPIENT)
    return _add(
        session,
        rnd=rnd,
        row=lambda: row,
        code=row.code,
        name=row.name,
        deadline=deadline,
        fields=(RECIPIENT, RECIPIENT_DEADLINE),
        user=user,
        now=now,
        tz=tz,
    )


def add_outside_organisation(
    session: Session,
    *,
    round_id: int,
    name: str,
    email: str,
    kind: str,
    deadline: str | dt.date | None,
    user: str,
    now: dt.datetime,
    tz: str,
) -> Added:
    """Add an organisation outside the register to a running round, for this case only
    (an ad hoc remissinstans, as a case file's mapping with namn, epost and typ)."""
    rnd = open_round(session, round_id=round_id, field=OUTSIDE_NAME)
    clean_name = " ".join(name.split())
    if not clean_name:
        raise InputError("Ange organisationens namn.", field=OUTSIDE_NAME)
    if len(clean_name) > 300:
        raise InputError("Namnet får vara högst 300 tecken.", field=OUTSIDE_NAME)
    if not email.strip():
        raise InputError("Ange organisationens e-postadress.", field=OUTSIDE_EMAIL)
    try:
        address = email_field(email, source="formuläret", field=OUTSIDE_EMAIL)
    except InputError as exc:
        raise InputError(
            "Ange en giltig e-postadress, till exempel registrator@organisation.se.",
            field=OUTSIDE_EMAIL,
        ) from exc
    if len(address) > 320:
        raise InputError("E-postadressen får vara högst 320 tecken.", field=OUTSIDE_EMAIL)
    if kind not in KINDS:
        raise InputError("Välj en typ i listan.", field=OUTSIDE_KIND)
    inst = Remissinstans(
        code=ad_hoc_code(clean_name, address), name=clean_name, kind=kind, email=address
    )

    def row() -> RemissinstansRow:
        existing = session.scalars(
            select(RemissinstansRow).where(RemissinstansRow.code == inst.code)
        ).first()
        return ad_hoc_row(session, inst=inst, existing=existing, now=now)

    return _add(
        session,
        rnd=rnd,
        row=row,
        code=inst.code,
        name=clean_name,
        deadline=deadline,
        fields=(OUTSIDE_NAME, OUTSIDE_DEADLINE),
        user=user,
        now=now,
        tz=tz,
    )


def _add(
    session: Session,
    *,
    rnd: Round,
    row: Callable[[], RemissinstansRow],
    code: str,
    name: str,
    deadline: str | dt.date | None,
    fields: tuple[str, str],
    user: str,
    now: dt.datetime,
    tz: str,
) -> Added:
    """The dispatch of `row()` (made only once all is checked) with its missiv queued."""
    field, deadline_field = fields
    existing = session.scalars(
        select(Dispatch)
        .join(RemissinstansRow)
        .where(Dispatch.round_id == rnd.id, RemissinstansRow.code == code)
    ).first()
    if existing is not None:
        if any(e.kind == EventKind.ADDED_TO_ROUND for e in existing.events):
            return Added(existing, created=False)
        raise InputError(
            f"{existing.name} har redan fått remissen i den här omgången.", field=field
        )
    day = rnd.svar_senast
    if deadline is not None and (isinstance(deadline, dt.date) or deadline.strip()):
        day = _parse_day(deadline, field=deadline_field)
    if day < rnd.svar_senast:
        raise InputError(
            "Svarsdagen kan inte vara tidigare än omgångens svarsdag "
            f"({dates.swedish_date(rnd.svar_senast)}).",
            field=deadline_field,
        )
    _check_day(day, rnd=rnd, today=dates.local_today(now, tz), field=deadline_field)
    instans = row()
    dispatch = Dispatch(
        round=rnd,
        remissinstans=instans,
        name=instans.name,
        email=instans.email,
        deadline=day,
        state=DispatchState.PENDING,
        created_at=now,
    )
    session.add(dispatch)
    session.flush()
    queue_message(session, dispatch=dispatch, kind=MessageKind.MISSIV, stage=0)
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.CREATED,
        now=now,
        deadline=day.isoformat(),
        email=instans.email,
    )
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.ADDED_TO_ROUND,
        now=now,
        deadline=day.isoformat(),
        by=user,
        ad_hoc=instans.ad_hoc,
    )
    record(
        session,
        user=user,
        action="recipient_added",
        now=now,
        round_id=rnd.id,
        remissinstans=instans.name,
        code=instans.code,
        deadline=day.isoformat(),
        ad_hoc=instans.ad_hoc,
    )
    session.flush()
    session.refresh(dispatch, ["events"])
    return Added(dispatch, created=True)


def needs_new_address(dispatch: Dispatch) -> bool:
    """The remissmissiv did not reach the address: it bounced, or the server refused it."""
    return dispatch.bounced_at is not None or dispatch.state == DispatchState.FAILED


@dataclass(frozen=True)
class Correction:
    dispatch: Dispatch
    message: OutgoingMessage | None  # None: the same correction was already made


def correct_address(
    session: Session,
    *,
    round_id: int,
    dispatch_id: int,
    email: str,
    user: str,
    now: dt.datetime,
) -> Correction:
    """Send the remiss again, to a corrected address, for a dispatch whose missiv bounced
    (or was refused). A new remissmissiv (the next stage, so a new idempotency key) goes to
    the new address with the same link; the bounce stays in the event log. Submitting the
    same correction again finds it made and queues nothing."""
    rnd = open_round(session, round_id=round_id, field=NEW_EMAIL)
    dispatch = session.get(Dispatch, dispatch_id, with_for_update=True)
    if dispatch is None or dispatch.round_id != rnd.id:
        raise InputError("Remissinstansen finns inte i den här omgången.", field=NEW_EMAIL)
    if not email.strip():
        raise InputError("Ange den nya e-postadressen.", field=NEW_EMAIL)
    try:
        new = email_field(email, source="formuläret", field=NEW_EMAIL)
    except InputError as exc:
        raise InputError(
            "Ange en giltig e-postadress, till exempel registrator@kommun.se.", field=NEW_EMAIL
        ) from exc
    if len(new) > 320:
        raise InputError("E-postadressen får vara högst 320 tecken.", field=NEW_EMAIL)
    if new.lower() == dispatch.email.lower():
        already = session.scalars(
            select(Event).where(
                Event.dispatch_id == dispatch.id, Event.kind == EventKind.ADDRESS_CORRECTED
            )
        ).all()
        if any(e.detail.get("to", "").lower() == new.lower() for e in already):
            return Correction(dispatch, None)
        raise InputError(
            "Det är samma adress som remissen redan skickades till. Ange den rättade adressen.",
            field=NEW_EMAIL,
        )
    if not needs_new_address(dispatch):
        raise InputError(
            f"Remissen till {dispatch.name} har inte studsat. Adressen rättas bara när "
            "e-posten inte kom fram.",
            field=NEW_EMAIL,
        )
    stage = 1 + max((m.stage for m in dispatch.messages if m.kind == MessageKind.MISSIV), default=0)
    old = dispatch.email
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.ADDRESS_CORRECTED,
        now=now,
        to=new,
        by=user,
        stage=stage,
        bounced_at=dispatch.bounced_at.isoformat() if dispatch.bounced_at else None,
        reason=dispatch.bounce_reason,
        **{"from": old},
    )
    dispatch.email = new
    # The bounce is history now (its event stays); what follows is about the new address.
    dispatch.bounced_at = dispatch.bounce_reason = dispatch.delivered_at = None
    dispatch.state = DispatchState.PENDING
    session.flush()
    message = queue_message(session, dispatch=dispatch, kind=MessageKind.MISSIV, stage=stage)
    record(
        session,
        user=user,
        action="address_corrected",
        now=now,
        round_id=rnd.id,
        remissinstans=dispatch.name,
        **{"from": old, "to": new},
    )
    return Correction(dispatch, message)
