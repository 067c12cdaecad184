"""Rounds: store a validated case, its dispatches and their message claims."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from remiss.cases.casefile import RoundPlan
from remiss.core.errors import ConflictError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import (
    UNSENT,
    DispatchState,
    EventKind,
    MessageKind,
    MessageState,
    RoundState,
)
from remiss.db.events import log_event
from remiss.db.models import (
    AttSats,
    Case,
    Dispatch,
    Motionar,
    OutgoingMessage,
    RemissinstansRow,
    Round,
)
from remiss.register.instances import Register, Remissinstans
from remiss.storage.documents import document_row, store_file


def message_key(round_uid: str, code: str, kind: str, stage: int = 0) -> str:
    return f"remiss-{round_uid}/{code}/{kind}/{stage}"


def queue_message(
    session: Session, *, dispatch: Dispatch, kind: str, stage: int
) -> OutgoingMessage:
    """The message of this kind and stage for a dispatch, created once; a second call finds it."""
    key = message_key(dispatch.round.uid, dispatch.remissinstans.code, kind, stage)
    existing = session.scalars(
        select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key)
    ).first()
    if existing is not None:
        return existing
    message = OutgoingMessage(
        dispatch_id=dispatch.id,
        kind=kind,
        stage=stage,
        idempotency_key=key,
        state=MessageState.PENDING,
    )
    session.add(message)
    session.flush()
    return message


def sync_register(session: Session, *, register: Register, now: dt.datetime) -> int:
    """Upsert the register's remissinstanser; returns how many rows changed."""
    # Ad hoc rows belong to the cases that named them: the register never changes them (their
    # codes cannot be register codes anyway, see casefile.ad_hoc_code).
    existing = {
        row.code: row
        for row in session.scalars(
            select(RemissinstansRow).where(RemissinstansRow.ad_hoc.is_(False))
        )
    }
    changed = 0
    for inst in register.instanser.values():
        values = {
            "name": inst.name,
            "kind": inst.kind,
            "email": inst.email,
            "groups": list(inst.groups),
            "contacts": [{"namn": c.namn, "epost": c.epost, "roll": c.roll} for c in inst.contacts],
        }
        row = existing.get(inst.code)
        if row is None:
            session.add(RemissinstansRow(code=inst.code, updated_at=now, **values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
            changed += 1
    session.flush()
    return changed


def ad_hoc_row(
    session: Session, *, inst: Remissinstans, existing: RemissinstansRow | None, now: dt.datetime
) -> RemissinstansRow:
    """The row of an outside organisation named for one case. Its code comes from its name
    and address, so a later case naming it again reuses the row, with the name as now given."""
    if existing is not None:
        if not existing.ad_hoc:  # a register code: ad_hoc_code never makes one
            raise ConflictError(f"Koden {inst.code} tillhör registret.")
        if (existing.name, existing.kind, existing.email) != (inst.name, inst.kind, inst.email):
            existing.name, existing.kind, existing.email = inst.name, inst.kind, inst.email
            existing.updated_at = now
        return existing
    row = RemissinstansRow(
        code=inst.code,
        name=inst.name,
        kind=inst.kind,
        email=inst.email,
        groups=[],
        contacts=[],
        updated_at=now,
        ad_hoc=True,
    )
    session.add(row)
    session.flush()
    return row


def open_round_for(session: Session, *, diarienummer: str) -> Round | None:
    return session.scalars(
        select(Round)
        .join(Case)
        .where(Case.diarienummer == diarienummer, Round.state == RoundState.OPEN)
        .order_by(Round.id.desc())
    ).first()


def check_can_start(session: Session, *, diarienummer: str, new_round: bool) -> None:
    existing = open_round_for(session, diarienummer=diarienummer)
    if existing is None or new_round:
        return
    unsent = session.scalar(
        select(func.count())
        .select_from(OutgoingMessage)
        .join(Dispatch)
        .where(Dispatch.round_id == existing.id, OutgoingMessage.state.in_(UNSENT))
    )
    hint = (
        f" {unsent} utskick är inte skickade än: kör `remiss round send {existing.id}` för att "
        "skicka dem."
        if unsent
        else ""
    )
    raise ConflictError(
        f"Det finns redan en pågående remissomgång för {diarienummer} (omgång {existing.id}, "
        f"startad {existing.started_at:%Y-%m-%d}).{hint} Använd --ny-omgang för att starta en "
        "ny omgång ändå."
    )


def create_round(
    session: Session,
    *,
    plan: RoundPlan,
    settings: Settings,
    now: dt.datetime,
    new_round: bool = False,
    flow_run_id: str | None = None,
) -> Round:
    """Store the case snapshot, the round, one dispatch and one message claim per recipient.

    A flow run that is retried finds the round it created and gets it back unchanged.
    """
    if flow_run_id:
        earlier = session.scalars(select(Round).where(Round.flow_run_id == flow_run_id)).first()
        if earlier is not None:
            return earlier
    case = plan.case
    check_can_start(session, diarienummer=case.diarienummer, new_round=new_round)

    row = Case(
        diarienummer=case.diarienummer,
        rubrik=case.rubrik,
        arendetyp=case.arendetyp,
        vackt=case.vackt,
        handlaggare_namn=case.handlaggare_namn,
        handlaggare_epost=case.handlaggare_epost,
        missiv=case.missiv,
        source_path=str(case.source),
        source_sha256=case.sha256,
        created_at=now,
        motionarer=[
            Motionar(position=i, namn=m.namn, parti=m.parti) for i, m in enumerate(case.motionarer)
        ],
        att_satser=[AttSats(number=i, text=t) for i, t in enumerate(case.att_satser, start=1)],
    )
    for i, handling in enumerate(case.handlingar):
        # A case file's handlingar are absolute paths; a draft's are in the documents folder.
        stored = store_file(settings.documents_dir / handling.path, settings.documents_dir)
        row.documents.append(
            document_row(
                stored,
                position=i,
                title=handling.title,
                filename=handling.send_name,
                content_type=handling.content_type,
                now=now,
            )
        )
    session.add(row)

    rnd = Round(
        uid=uuid.uuid4().hex,
        case=row,
        state=RoundState.OPEN,
        svar_senast=plan.deadline,
        base_url=settings.base_url,
        flow_run_id=flow_run_id,
        started_at=now,
        reminder_policy=plan.policy.to_json(),
    )
    session.add(rnd)
    rows = {r.code: r for r in session.scalars(select(RemissinstansRow))}
    for inst in plan.case.ad_hoc:
        rows[inst.code] = ad_hoc_row(session, inst=inst, existing=rows.get(inst.code), now=now)
    for inst in plan.recipients:
        dispatch = Dispatch(
            round=rnd,
            remissinstans=rows[inst.code],
            name=inst.name,
            email=inst.email,
            deadline=plan.deadline,
            state=DispatchState.PENDING,
            created_at=now,
        )
        session.add(dispatch)
        session.flush()
        session.add(
            OutgoingMessage(
                dispatch_id=dispatch.id,
                kind=MessageKind.MISSIV,
                stage=0,
                idempotency_key=message_key(rnd.uid, inst.code, MessageKind.MISSIV),
                state=MessageState.PENDING,
            )
        )
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.CREATED,
            now=now,
            deadline=plan.deadline.isoformat(),
            email=inst.email,
        )
    session.flush()
    return rnd


def find_round(session: Session, *, ref: str) -> Round:
    """A round by its number, or the latest round of a diarienummer."""
    ref = ref.strip()
    rnd: Round | None
    if ref.isdigit():
        rnd = session.get(Round, int(ref))
    else:
        wanted = " ".join(ref.split())
        rnd = session.scalars(
            select(Round).join(Case).where(Case.diarienummer == wanted).order_by(Round.id.desc())
        ).first()
    if rnd is None:
        raise NotFoundError(
            f"Hittar ingen remissomgång {ref!r} (ange omgångens nummer eller diarienumret)."
        )
    return rnd


def close_round(session: Session, *, round_id: int, now: dt.datetime) -> Round:
    """Close a round: its answer links then only show what was submitted, and no more
    reminders are planned. An unknown round is a NotFoundError, a closed one a ConflictError.
    """
    rnd = find_round(session, ref=str(round_id))
    if rnd.state == RoundState.CLOSED:
        raise ConflictError(f"Omgång {rnd.id} är redan avslutad.")
    rnd.state, rnd.closed_at = RoundState.CLOSED, now
    for dispatch in rnd.dispatches:
        dispatch.next_reminder_at = None
    session.flush()
    return rnd


def unsent_missiv(session: Session, *, round_id: int) -> list[tuple[int, int]]:
    """(dispatch id, message id) of every remissmissiv of the round not yet sent."""
    rows = session.execute(
        select(Dispatch.id, OutgoingMessage.id)
        .join(OutgoingMessage)
        .where(
            Dispatch.round_id == round_id,
            OutgoingMessage.kind == MessageKind.MISSIV,
            OutgoingMessage.state.in_(UNSENT),
        )
        .order_by(Dispatch.id)
    )
    return [(d, m) for d, m in rows]


def unsent_dispatch_ids(session: Session, *, round_id: int) -> list[int]:
    return [d for d, _ in unsent_missiv(session, round_id=round_id)]
