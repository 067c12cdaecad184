"""The decision on a case (KSAU, KS or KF), recorded after its round is closed and sent
back to every remissinstans of the round ("Beslutet ska skickas till samtliga nämnder").

Recording stores the decision with its protokollsutdrag; sending queues one e-mail per
dispatch, keyed by the decision and the dispatch, so a second click or a reload queues
nothing more and the sender (exactly once per key) sends nothing twice."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.audit.log import record
from remiss.core import dates
from remiss.core.errors import ConflictError, NotFoundError, RemissError
from remiss.core.states import EventKind, MessageKind, RoundState
from remiss.db.events import log_event
from remiss.db.models import Decision, Document, Round
from remiss.rounds.service import queue_message
from remiss.rounds.timeline import decision_messages
from remiss.storage.documents import StoredFile, store_bytes
from remiss.storage.uploads import CheckedFile

# The bodies that decide on a case after its remiss, in the order the case passes them.
ORGANS: dict[str, str] = {
    "KSAU": "kommunstyrelsens arbetsutskott",
    "KS": "kommunstyrelsen",
    "KF": "kommunfullmäktige",
}
MAX_TEXT = 2000
_PARAGRAPH = re.compile(r"(\d{1,5})\s*([a-zA-Z]?)")


class DecisionFormError(RemissError):
    """Bad input in the decision form: a Swedish message per field (the form's names)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class DecisionForm:
    """The decision form as typed (strings), and the protokollsutdrag once checked."""

    organ: str = ""
    beslutsdatum: str = ""
    paragraf: str = ""
    text: str = ""
    protokollsutdrag: CheckedFile | None = None
    # An upload already refused by the upload checks (its Swedish message).
    upload_error: str | None = None


@dataclass(frozen=True)
class DecisionValues:
    organ: str
    beslutsdatum: dt.date
    paragraf: str
    text: str
    protokollsutdrag: CheckedFile


def organ_label(organ: str) -> str:
    return f"{ORGANS.get(organ, organ)} ({organ})"


def clean_paragraph(raw: str) -> str | None:
    """'8', '§8', '§ 8' -> '§ 8'; '12 a' -> '§ 12 a'; None when it is no paragraph number."""
    text = raw.strip().removeprefix("§").strip()
    match = _PARAGRAPH.fullmatch(text)
    if not match:
        return None
    number, letter = match.groups()
    return f"§ {int(number)}" + (f" {letter.lower()}" if letter else "")


def can_record(rnd: Round) -> str | None:
    """Why no decision may be recorded on the round now (Swedish), or None."""
    if rnd.state != RoundState.CLOSED:
        return (
            "Avsluta remissomgången innan ni registrerar beslutet. Så länge den pågår kan "
            "svar fortfarande komma in och påminnelser gå ut."
        )
    return None


def check_decision(form: DecisionForm, *, rnd: Round, today: dt.date, tz: str) -> DecisionValues:
    """The decision's values, or a DecisionFormError naming every field that is wrong."""
    errors: dict[str, str] = {}
    organ = form.organ.strip().upper()
    if not organ:
        errors["organ"] = "Välj vilket organ som fattade beslutet."
    elif organ not in ORGANS:
        errors["organ"] = "Välj kommunstyrelsens arbetsutskott, kommunstyrelsen eller fullmäktige."

    day: dt.date | None = None
    if not form.beslutsdatum.strip():
        errors["beslutsdatum"] = "Ange beslutsdatum."
    else:
        try:
            day = dates.parse_date(form.beslutsdatum)
        except ValueError:
            errors["beslutsdatum"] = "Ange beslutsdatum som år-månad-dag, till exempel 2027-03-10."
    if day is not None:
        sent = dates.local_today(rnd.started_at, tz)
        if day > today:
            errors["beslutsdatum"] = (
                "Beslutsdatumet kan inte ligga i framtiden "
                f"(i dag är det {dates.swedish_date(today)})."
            )
        elif day < sent:
            errors["beslutsdatum"] = (
                "Beslutet kan inte vara fattat innan remissen skickades "
                f"({dates.swedish_date(sent)})."
            )

    paragraf = None
    if not form.paragraf.strip():
        errors["paragraf"] = "Ange beslutets paragraf i protokollet, till exempel § 8."
    else:
        paragraf = clean_paragraph(form.paragraf)
        if paragraf is None:
            errors["paragraf"] = "Ange paragrafen som ett nummer, till exempel § 8 eller 12 a."

    text = " ".join(line.strip() for line in form.text.strip().splitlines() if line.strip())
    if not text:
        errors["text"] = "Skriv vad som beslutades, till exempel ”Motionen anses besvarad.”"
    elif len(text) > MAX_TEXT:
        errors["text"] = f"Beslutstexten får vara högst {MAX_TEXT} tecken (nu {len(text)})."

    if form.upload_error:
        errors["protokollsutdrag"] = form.upload_error
    elif form.protokollsutdrag is None:
        errors["protokollsutdrag"] = "Bifoga protokollsutdraget som PDF-, Word- eller ODT-fil."

    if errors:
        raise DecisionFormError(errors)
    assert day is not None
    assert paragraf is not None
    assert form.protokollsutdrag is not None
    return DecisionValues(organ, day, paragraf, text, form.protokollsutdrag)


def _locked_round(session: Session, round_id: int) -> Round:
    rnd = session.scalars(select(Round).where(Round.id == round_id).with_for_update()).first()
    if rnd is None:
        raise NotFoundError(f"Hittar ingen remissomgång {round_id}.")
    return rnd


def same_decision(session: Session, *, round_id: int, values: DecisionValues) -> Decision | None:
    """A decision already recorded with the same organ, date and paragraph."""
    return session.scalars(
        select(Decision).where(
            Decision.round_id == round_id,
            Decision.organ == values.organ,
            Decision.beslutsdatum == values.beslutsdatum,
            Decision.paragraf == values.paragraf,
        )
    ).first()


def record_decision(
    session: Session,
    *,
    round_id: int,
    form: DecisionForm,
    user: str,
    now: dt.datetime,
    tz: str,
    store: Path,
    written: list[StoredFile] | None = None,
) -> Decision:
    """Check and store the decision with its protokollsutdrag, and audit it.

    The round must be closed (ConflictError otherwise). The same decision twice (organ,
    date and paragraph: a double click) is a ConflictError naming the first. Files new to
    the store are appended to `written`, for a caller whose transaction fails."""
    rnd = _locked_round(session, round_id)
    refusal = can_record(rnd)
    if refusal:
        raise ConflictError(refusal)
    values = check_decision(form, rnd=rnd, today=dates.local_today(now, tz), tz=tz)
    earlier = same_decision(session, round_id=rnd.id, values=values)
    if earlier is not None:
        raise ConflictError(
            f"Beslutet {values.organ} {values.paragraf} den "
            f"{dates.swedish_date(values.beslutsdatum)} är redan registrerat."
        )
    decision = Decision(
        round_id=rnd.id,
        organ=values.organ,
        beslutsdatum=values.beslutsdatum,
        paragraf=values.paragraf,
        text=values.text,
        recorded_by=user,
        recorded_at=now,
    )
    session.add(decision)
    session.flush()
    checked = values.protokollsutdrag
    stored = store_bytes(checked.data, store)
    if stored.created and written is not None:
        written.append(stored)
    session.add(
        Document(
            decision_id=decision.id,
            position=0,
            title=f"Protokollsutdrag {values.organ} {values.paragraf}",
            filename=checked.filename,
            content_type=checked.content_type,
            size=stored.size,
            sha256=stored.sha256,
            storage_path=stored.storage_path,
            created_at=now,
        )
    )
    record(
        session,
        user=user,
        action="decision_recorded",
        now=now,
        round_id=rnd.id,
        decision_id=decision.id,
        organ=values.organ,
        beslutsdatum=values.beslutsdatum.isoformat(),
        paragraf=values.paragraf,
        filename=checked.filename,
        sha256=stored.sha256,
    )
    session.flush()
    return decision


def find_decision(session: Session, *, round_id: int, decision_id: int) -> Decision:
    decision = session.get(Decision, decision_id)
    if decision is None or decision.round_id != round_id:
        raise NotFoundError(f"Hittar inget beslut {decision_id} i omgång {round_id}.")
    return decision


def decisions_of(session: Session, *, round_id: int) -> list[Decision]:
    """The round's decisions, in the order they were recorded."""
    return list(
        session.scalars(select(Decision).where(Decision.round_id == round_id).order_by(Decision.id))
    )


def send_decision(
    session: Session, *, round_id: int, decision_id: int, user: str, now: dt.datetime
) -> int:
    """Queue the decision's e-mail to every remissinstans of the round; returns how many were
    newly queued (0 on a second click: each message's key is the decision and the dispatch).
    The caller hands the sending on (the job `skicka`)."""
    rnd = _locked_round(session, round_id)
    decision = find_decision(session, round_id=rnd.id, decision_id=decision_id)
    before = {m.dispatch_id for m in decision_messages(session, decision=decision)}
    queued = []
    for dispatch in rnd.dispatches:
        if dispatch.id in before:
            continue
        # The stage is the decision's id: one message per decision and dispatch.
        message = queue_message(
            session, dispatch=dispatch, kind=MessageKind.BESLUT, stage=decision.id
        )
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.DECISION_SENT,
            now=now,
            decision_id=decision.id,
            message_id=message.id,
            organ=decision.organ,
            paragraf=decision.paragraf,
        )
        queued.append(dispatch.id)
    if queued:
        record(
            session,
            user=user,
            action="decision_sent",
            now=now,
            round_id=rnd.id,
            decision_id=decision.id,
            recipients=len(queued),
        )
    session.flush()
    return len(queued)
