"""The status of rounds, as a stable JSON document and as a table.

JSON schema `remiss.status/1` (documented in the README): fields are only ever added.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from remiss.audit.log import ACTION_LABELS, entries_for_round
from remiss.core import dates
from remiss.core.settings import Settings
from remiss.core.states import (
    PAMINNELSE_PREFIX,
    DispatchState,
    EventKind,
    MessageKind,
    RoundState,
)
from remiss.core.terms import POSITION_LABELS, PROGRESS_LABELS
from remiss.core.validation import sender_belongs
from remiss.db.engine import session_scope
from remiss.db.models import (
    Answer,
    AuditEntry,
    Dispatch,
    OutgoingMessage,
    RemissinstansRow,
    Round,
)
from remiss.register.meetings import motion_limit, motion_warning
from remiss.reminders import schedule as reminder_rules
from remiss.reminders.policy import schedule as schedule_stages
from remiss.reminders.schedule import load_for_rules, round_policy

SCHEMA = "remiss.status/1"

STATE_LABELS = {
    "pending": "väntar på utskick",
    "sending": "skickas",
    "sent": "skickad",
    "failed": "kunde inte skickas",
}
STATES = tuple(STATE_LABELS)


def _iso(instant: dt.datetime | None) -> str | None:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if instant else None


def _missiv(dispatch: Dispatch) -> OutgoingMessage | None:
    """The latest remissmissiv: after a corrected address, the one to the new address."""
    return next((m for m in reversed(dispatch.messages) if m.kind == MessageKind.MISSIV), None)


def progress(dispatch: Dispatch, *, joint_answer: Answer | None = None) -> str:
    """How far a dispatch has come; an answer given jointly by another counts as answered.
    An e-mail that waits for review is not an answer yet (the reminders go on)."""
    if dispatch.answered or joint_answer is not None:
        return "answered"
    if dispatch.current_answer is not None:
        return "to_review"
    if dispatch.declined_at is not None:
        return "declined"
    if dispatch.state != "sent":
        return dispatch.state
    if dispatch.received_at is not None:
        return "received"
    if dispatch.opened_at is not None:
        return "opened"
    if dispatch.bounced_at is not None:
        return "bounced"
    if dispatch.delivered_at is not None:
        return "delivered"
    return "sent"


def own_addresses(dispatch: Dispatch) -> list[str]:
    """The addresses a reply from the remissinstans can come from, and their domains."""
    contacts = [str(c.get("epost") or "") for c in dispatch.remissinstans.contacts]
    known = [dispatch.email, dispatch.remissinstans.email, dispatch.contact_email or "", *contacts]
    return [a for a in known if a]


def sender_outside(answer: Answer, dispatch: Dispatch) -> bool:
    """An e-mailed answer from an address outside the remissinstans's own addresses and
    their domains (a private address, a forward): flagged for the person who reviews it."""
    if answer.channel != "email":
        return False
    return not sender_belongs(answer.contact_email, own_addresses(dispatch))


def _answer_doc(answer: Answer, dispatch: Dispatch, tz: str) -> dict[str, Any]:
    return {
        "version": answer.version,
        "submitted_at": _iso(answer.submitted_at),
        "late": answer.submitted_at > dates.deadline_end(dispatch.deadline, tz),
        "channel": answer.channel,
        "position": answer.position,
        "position_label": POSITION_LABELS.get(answer.position, answer.position),
        "needs_review": answer.needs_review,
        "reviewed_by": answer.reviewed_by,
        "sender": answer.contact_email if answer.channel == "email" else None,
        "sender_outside": sender_outside(answer, dispatch),
        "att_sats_positions": answer.att_sats_positions,
        "decision_date": answer.decision_date.isoformat() if answer.decision_date else None,
        "decision_paragraph": answer.decision_paragraph,
        "joint_with": answer.joint_with,
        "processed": answer.processed_at is not None,
        "files": [
            {
                "filename": d.filename,
                "size": d.size,
                "sha256": d.sha256,
                "content_type": d.content_type,
            }
            for d in answer.documents
        ],
    }


def dispatch_status(
    dispatch: Dispatch,
    *,
    now: dt.datetime,
    tz: str,
    joint_answer: Answer | None = None,
    joint_claims: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    msg = _missiv(dispatch)
    claim = msg if dispatch.state == "sending" else None
    state = progress(dispatch, joint_answer=joint_answer)
    done = state in ("answered", "declined")
    answer = dispatch.current_answer
    return {
        "code": dispatch.remissinstans.code,
        "name": dispatch.name,
        "email": dispatch.email,
        "state": dispatch.state,
        "state_label": STATE_LABELS.get(dispatch.state, dispatch.state),
        "sent_at": _iso(dispatch.sent_at),
        "deadline": dispatch.deadline.isoformat(),
        # Something came in before the deadline, waiting for a person: not late for that.
        "overdue": not done
        and now > dates.deadline_end(dispatch.deadline, tz)
        and not (
            state == "to_review"
            and answer is not None
            and answer.submitted_at <= dates.deadline_end(dispatch.deadline, tz)
        ),
        "attempts": msg.attempts if msg else 0,
        "last_error": msg.last_error if msg else None,
        # While it is being sent: which process holds the remissmissiv, since when, and
        # when it last showed that it is still at work (its claim's heartbeat).
        "claimed_by": claim.claimed_by if claim else None,
        "claimed_at": _iso(claim.claimed_at) if claim else None,
        "claim_renewed_at": _iso(claim.claim_renewed_at) if claim else None,
        "progress": state,
        "progress_label": PROGRESS_LABELS[state],
        "opened_at": _iso(dispatch.opened_at),
        "received_at": _iso(dispatch.received_at),
        "delivered_at": _iso(dispatch.delivered_at),
        "bounced_at": _iso(dispatch.bounced_at),
        "bounce_reason": dispatch.bounce_reason,
        "read_at": _iso(dispatch.read_at),
        "their_diarienummer": dispatch.their_diarienummer,
        "declined_at": _iso(dispatch.declined_at),
        "decline_reason": dispatch.decline_reason,
        "answer": _answer_doc(answer, dispatch, tz) if answer else None,
        "answer_versions": len(dispatch.answers),
        # The current version is stored but its kvittens not yet queued (a poll or a
        # process flow stopped before it): the next poll or the sweep finishes it.
        "awaiting_kvittens": answer is not None and answer.processed_at is None,
        "answered_jointly_by": joint_answer.dispatch.remissinstans.code if joint_answer else None,
        "joint_claims": joint_claims or [],
        "anstand": [
            {
                "id": a.id,
                "state": a.state,
                "requested_date": a.requested_date.isoformat(),
                "granted_date": a.granted_date.isoformat() if a.granted_date else None,
                "reason": a.reason,
            }
            for a in dispatch.anstand
        ],
    }


def round_status(rnd: Round, *, now: dt.datetime, tz: str) -> dict[str, Any]:
    session = object_session(rnd)
    assert session is not None
    ids = list(session.scalars(select(Dispatch.id).where(Dispatch.round_id == rnd.id)))
    # A few queries instead of several per dispatch.
    _held = load_for_rules(session, dispatch_ids=ids)
    case = rnd.case
    today = dates.local_today(now, tz)
    # A joint answer counts for a partner only once the partner has confirmed it.
    current = {d.current_answer.id: d.current_answer for d in rnd.dispatches if d.current_answer}
    joint: dict[str, Answer] = {}
    claims: dict[str, list[dict[str, Any]]] = {}
    for c in reminder_rules.joint_claims(session, round_id=rnd.id):
        answer = current[c.answer_id]
        if c.confirmed:
            joint.setdefault(c.partner_code, answer)
        claims.setdefault(c.partner_code, []).append(
            {"by": answer.dispatch.remissinstans.code, "version": c.version, "state": c.state}
        )
    items = [
        dispatch_status(
            d,
            now=now,
            tz=tz,
            joint_answer=None if d.current_answer else joint.get(d.remissinstans.code),
            joint_claims=claims.get(d.remissinstans.code),
        )
        for d in rnd.dispatches
    ]
    counts = Counter(item["state"] for item in items)
    progress_counts = Counter(item["progress"] for item in items)
    return {
        "id": rnd.id,
        "uid": rnd.uid,
        "diarienummer": case.diarienummer,
        "rubrik": case.rubrik,
        "arendetyp": case.arendetyp,
        "state": rnd.state,
        "started_at": _iso(rnd.started_at),
        "svar_senast": rnd.svar_senast.isoformat(),
        "closed_at": _iso(rnd.closed_at),
        "vackt": case.vackt.isoformat() if case.vackt else None,
        "motion_limit": motion_limit(case.vackt).isoformat() if case.vackt else None,
        "motion_days_left": (motion_limit(case.vackt) - today).days if case.vackt else None,
        "motion_warning": motion_warning(case.vackt, today) if case.vackt else False,
        "counts": {state: counts.get(state, 0) for state in STATES} | {"total": len(items)},
        "progress_counts": {p: progress_counts.get(p, 0) for p in PROGRESS_LABELS},
        "overdue": sum(1 for item in items if item["overdue"]),
        # Current answers that came by e-mail and wait for a person (also a new version
        # from a remissinstans that has answered before), and those without a kvittens yet.
        "to_review": sum(1 for item in items if item["answer"] and item["answer"]["needs_review"]),
        "awaiting_kvittens": sum(1 for item in items if item["awaiting_kvittens"]),
        "dispatches": items,
    }


def status_document(
    session: Session, *, now: dt.datetime, tz: str, rounds: list[Round] | None = None
) -> dict[str, Any]:
    """Every open round (or the rounds given), newest first."""
    if rounds is None:
        rounds = list(
            session.scalars(
                select(Round).where(Round.state == RoundState.OPEN).order_by(Round.id.desc())
            )
        )
    return {
        "schema": SCHEMA,
        "generated_at": _iso(now),
        "rounds": [round_status(r, now=now, tz=tz) for r in rounds],
    }


def all_round_statuses(session: Session, *, now: dt.datetime, tz: str) -> list[dict[str, Any]]:
    """Every round, open or closed, newest first (the staff view's list)."""
    rounds = list(session.scalars(select(Round).order_by(Round.id.desc())))
    return [round_status(rnd, now=now, tz=tz) for rnd in rounds]


@dataclass(frozen=True)
class RoundFiles:
    """A round's status and its answers' files, by sha256 + file name (the staff view)."""

    status: dict[str, Any]
    files: dict[str, int]


def round_with_files(
    session: Session, *, round_id: int, now: dt.datetime, tz: str
) -> RoundFiles | None:
    """The round's status and the ids of every answer version's files, or None if unknown."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        return None
    status = round_status(rnd, now=now, tz=tz)
    files = {
        d.sha256 + d.filename: d.id
        for dispatch in rnd.dispatches
        for a in dispatch.answers
        for d in a.documents
    }
    return RoundFiles(status=status, files=files)


SENDER_OUTSIDE = "avsändaren hör inte till remissinstansen"


def table_rows(round_doc: dict[str, Any], tz: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for d in round_doc["dispatches"]:
        sent = dates.iso_local(dt.datetime.fromisoformat(d["sent_at"]), tz) if d["sent_at"] else "–"
        state = d["progress_label"]
        if d["state"] == "sending" and d.get("claimed_by"):
            since = dates.iso_local(dt.datetime.fromisoformat(d["claimed_at"]), tz)
            state += f" av {d['claimed_by']} sedan {since}"
            if d["claim_renewed_at"]:
                # A holder that died stops renewing: its last sign of life tells the operator.
                alive = dt.datetime.fromisoformat(d["claim_renewed_at"])
                state += f", senast aktiv {dates.iso_local(alive, tz)[-5:]}"
        elif d["last_error"] and d["state"] == "pending":
            state += f" (senaste försöket misslyckades: {d['last_error']})"
        elif d["last_error"] and d["state"] != "sent":
            state += f" ({d['last_error']})"
        if d["answer"] and d["answer"]["version"] > 1:
            state += f" (version {d['answer']['version']})"
        if d["answer"] and d["answer"]["needs_review"] and d["progress"] != "to_review":
            state += ", en ny version inkom via e-post och ska granskas"
        elif d["answer"] and d["answer"]["channel"] == "email" and d["progress"] != "to_review":
            state += ", kom med e-post"
        if d["answer"] and d["answer"].get("sender_outside"):
            state += f" ({SENDER_OUTSIDE}: {d['answer']['sender']})"
        if d.get("awaiting_kvittens"):
            state += ", kvittensen är inte skickad än"
        if d["bounced_at"] and d["progress"] != "bounced":
            state += ", e-posten studsade"
        if d["answered_jointly_by"]:
            state += " (gemensamt svar)"
        elif any(c["state"] == "claimed" for c in d.get("joint_claims", [])):
            state += ", angiven i ett gemensamt svar som inte är bekräftat"
        if any(a["state"] == "requested" for a in d["anstand"]):
            state += ", begär anstånd"
        elif any(a["state"] == "granted" for a in d["anstand"]):
            state += ", anstånd beviljat"
        if d["overdue"]:
            state += ", försenad"
        rows.append((d["name"], state, sent, d["deadline"]))
    return rows


# For the dashboard in Prefect: what runs are named and tagged by, and a round's overview.


def round_tags(settings: Settings, *, round_id: int) -> tuple[str, list[str]]:
    """The round's diarienummer and its tags: the diarienummer and every remissinstans code."""
    with session_scope(settings.database_url) as session:
        dnr = session.get_one(Round, round_id).case.diarienummer
        codes = session.scalars(
            select(RemissinstansRow.code)
            .join(Dispatch, Dispatch.remissinstans_id == RemissinstansRow.id)
            .where(Dispatch.round_id == round_id)
            .order_by(Dispatch.id)
        )
        return dnr, [dnr, *codes]


def answer_origin(settings: Settings, *, answer_id: int) -> tuple[str, str, str]:
    """(remissinstans name, diarienummer, remissinstans code) of an answer."""
    with session_scope(settings.database_url) as session:
        dispatch = session.get_one(Answer, answer_id).dispatch
        return dispatch.name, dispatch.round.case.diarienummer, dispatch.remissinstans.code


def round_overview(
    settings: Settings, *, round_id: int, now: dt.datetime
) -> tuple[dict[str, Any], list[tuple[str, str, int]]]:
    """The round's status document and its answer documents (remissinstans, file, id)."""
    with session_scope(settings.database_url) as session:
        rnd = session.get_one(Round, round_id)
        doc = round_status(rnd, now=now, tz=settings.timezone)
        documents = [
            (d.name, document.filename, document.id)
            for d in rnd.dispatches
            if d.current_answer is not None
            for document in d.current_answer.documents
        ]
        return doc, documents


# The handläggare's round page in the workspace: what the status document holds, and per
# dispatch what is needed to follow and act on it (not part of the JSON document).

FILTERS: dict[str, str] = {
    "alla": "Alla",
    "ej-svarat": "Har inte svarat",
    "forsenade": "Försenade",
    "studsade": "Studsade eller misslyckade",
    "ej-oppnade": "Inte öppnade",
    "kvitterade": "Mottagandet bekräftat",
    "anstand": "Anstånd",
    "avstar": "Avstått",
    "besvarade": "Besvarade",
    "granskas": "Svar att granska",
}


def shown_by(key: str, item: dict[str, Any]) -> bool:
    """Whether the dispatch (an item of the status document) belongs under filter `key`."""
    done = item["progress"] in ("answered", "declined")
    answer = item["answer"]
    tests: dict[str, bool] = {
        "alla": True,
        "ej-svarat": not done,
        "forsenade": bool(item["overdue"]),
        "studsade": item["progress"] in ("bounced", "failed") or item["bounced_at"] is not None,
        "ej-oppnade": not done and item["progress"] in ("pending", "sending", "sent", "delivered"),
        "kvitterade": item["received_at"] is not None,
        "anstand": bool(item["anstand"]),
        "avstar": item["progress"] == "declined",
        "besvarade": item["progress"] == "answered",
        # Every current version that waits for a person (the one term: "ska granskas").
        "granskas": bool(answer and answer["needs_review"]),
    }
    return tests.get(key, True)


def reminder_label(stage_name: str) -> str:
    """'fore10' -> 'påminnelse 10 arbetsdagar före svarsdagen' (a stage of the policy)."""
    kind = stage_name.rstrip("0123456789")
    days = int(stage_name[len(kind) :] or 0)
    span = f"{days} arbetsdag{'ar' if days != 1 else ''}"
    if kind == "fore":
        return f"påminnelse {span} före svarsdagen"
    if kind == "sen":
        return f"påminnelse {span} efter svarsdagen"
    if kind == "eskalering":
        return f"eskalering {span} efter svarsdagen"
    return f"påminnelse ({stage_name})"


@dataclass(frozen=True)
class Followed:
    """One dispatch as the round page follows it, beside its status item."""

    id: int
    code: str
    reminders_sent: list[tuple[str, dt.datetime]]  # (what, when)
    next_reminder: tuple[str, dt.datetime] | None
    corrections: list[dict[str, Any]]  # address_corrected events' details, with "at"
    added_at: dt.datetime | None  # added to the running round
    may_correct: bool
    deadline_extended: bool


def _followed(dispatch: Dispatch, *, tz: str) -> Followed:
    sent = [
        (reminder_label(m.kind.removeprefix(PAMINNELSE_PREFIX)), m.sent_at)
        for m in dispatch.messages
        if m.kind.startswith(PAMINNELSE_PREFIX) and m.sent_at is not None
    ]
    upcoming = None
    if dispatch.next_reminder_at is not None:
        stages = schedule_stages(dispatch.deadline, round_policy(dispatch.round), tz)
        stage = next((s for s in stages if s.due_at == dispatch.next_reminder_at), None)
        if stage is not None:
            upcoming = (reminder_label(stage.name), stage.due_at)
    added = next((e.at for e in dispatch.events if e.kind == EventKind.ADDED_TO_ROUND), None)
    return Followed(
        id=dispatch.id,
        code=dispatch.remissinstans.code,
        reminders_sent=sent,
        next_reminder=upcoming,
        corrections=[
            e.detail | {"at": e.at}
            for e in dispatch.events
            if e.kind == EventKind.ADDRESS_CORRECTED
        ],
        added_at=added,
        may_correct=dispatch.bounced_at is not None or dispatch.state == DispatchState.FAILED,
        deadline_extended=any(e.kind == EventKind.DEADLINE_EXTENDED for e in dispatch.events),
    )


def _day(value: Any) -> str:
    return dates.swedish_date(dt.date.fromisoformat(value)) if value else ""


def audit_text(action: str, detail: dict[str, Any]) -> str:
    """What an audit entry did, in a few words (the action's label, and its object)."""
    label = ACTION_LABELS.get(action, action)
    who = detail.get("remissinstans")
    if action == "deadline_extended":
        return (
            f"{label} från {_day(detail.get('from'))} till {_day(detail.get('to'))} "
            f"({detail.get('moved', 0)} remissinstanser fick ny svarsdag)"
        )
    if action == "recipient_added":
        return f"{label}: {who}, svar senast {_day(detail.get('deadline'))}"
    if action == "address_corrected":
        return f"{label}: {who}, från {detail.get('from')} till {detail.get('to')}"
    if action == "anstand_granted":
        return f"{label}: {who}, ny svarsdag {_day(detail.get('to'))}"
    if action == "answer_reviewed":
        position = POSITION_LABELS.get(detail.get("position", ""), detail.get("position"))
        return f"{label}: {who}, {position}"
    return f"{label}: {who}" if who else label


@dataclass(frozen=True)
class Workspace:
    """The round page: the status, the files, each dispatch followed, the audit log."""

    status: dict[str, Any]
    files: dict[str, int]
    followed: dict[str, Followed]  # by remissinstans code
    audit: list[AuditEntry]


def round_workspace(
    session: Session, *, round_id: int, now: dt.datetime, tz: str
) -> Workspace | None:
    found = round_with_files(session, round_id=round_id, now=now, tz=tz)
    if found is None:
        return None
    rnd = session.get_one(Round, round_id)
    dispatches = load_for_rules(session, dispatch_ids=[d.id for d in rnd.dispatches])
    followed = {f.code: f for f in (_followed(d, tz=tz) for d in dispatches)}
    return Workspace(
        status=found.status,
        files=found.files,
        followed=followed,
        audit=entries_for_round(session, round_id=round_id),
    )
