"""The mailbox poll: replies become answers to review, reports change a dispatch's state.

Each message is recorded once, by its Message-ID, in the same transaction as what it
changes; only then is it marked and moved in the mailbox. A poll that stops between the
two finds the message again next time, sees it recorded, and only moves it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remiss.answers.service import submit_answer
from remiss.core.settings import Settings
from remiss.core.states import EventKind, MessageKind, RoundState
from remiss.core.terms import NOT_REVIEWED
from remiss.db.engine import session_scope
from remiss.db.events import log_event
from remiss.db.models import Dispatch, InboundMail, OutgoingMessage
from remiss.inbox.parse import IncomingMail, parse, says_registered
from remiss.mail import load_mailbox
from remiss.mail.base import Folder, InboxItem, Mailbox
from remiss.storage.uploads import CheckedFile, UploadError, UploadLimits, check_file

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    read: int = 0
    answers: list[int] = field(default_factory=list)
    delivered: int = 0
    bounced: list[str] = field(default_factory=list)
    read_receipts: int = 0
    auto_replies: int = 0
    receipts: int = 0
    unmatched: int = 0
    already_recorded: int = 0
    rounds: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    kind: str
    folder: Folder
    dispatch_id: int | None = None
    answer_id: int | None = None
    note: str | None = None
    round_id: int | None = None


def poll(
    settings: Settings,
    mailbox: Mailbox,
    *,
    now: dt.datetime,
    limits: UploadLimits,
    limit: int = 200,
) -> PollResult:
    """Read up to `limit` messages from the inbox, record each, then file it away."""
    result = PollResult()
    for item in mailbox.fetch(limit):
        result.read += 1
        outcome = _record(settings, item, now=now, limits=limits)
        if outcome is None:
            result.already_recorded += 1
            folder = _recorded_folder(settings, item)
        else:
            folder = outcome.folder
            _count(result, outcome)
        mailbox.file(item, folder)
    return result


def _count(result: PollResult, outcome: _Outcome) -> None:
    if outcome.round_id is not None and outcome.round_id not in result.rounds:
        result.rounds.append(outcome.round_id)
    if outcome.kind == "answer" and outcome.answer_id is not None:
        result.answers.append(outcome.answer_id)
    elif outcome.kind == "delivered":
        result.delivered += 1
    elif outcome.kind == "bounced":
        result.bounced.append(outcome.note or "")
    elif outcome.kind == "read":
        result.read_receipts += 1
    elif outcome.kind == "auto_reply":
        result.auto_replies += 1
    elif outcome.kind == "receipt":
        result.receipts += 1
    else:
        result.unmatched += 1


def _parse(item: InboxItem) -> IncomingMail | None:
    try:
        return parse(item.mime, item.item_class)
    except Exception:  # A message we cannot read goes to the registrator, not into a loop.
        log.exception("Kunde inte läsa ett meddelande i brevlådan (%s)", item.item_class)
        return None


def _key(item: InboxItem, mail: IncomingMail | None) -> str:
    if mail is not None:
        return mail.key
    return "sha256:" + hashlib.sha256(item.mime).hexdigest()


def _recorded_folder(settings: Settings, item: InboxItem) -> Folder:
    key = _key(item, _parse(item))
    with session_scope(settings.database_url) as session:
        folder = session.scalar(select(InboundMail.folder).where(InboundMail.key == key))
    return "unmatched" if folder == "unmatched" else "processed"


def _record(
    settings: Settings, item: InboxItem, *, now: dt.datetime, limits: UploadLimits
) -> _Outcome | None:
    """Apply one message and record it, in one transaction; None if it was recorded before."""
    mail = _parse(item)
    key = _key(item, mail)
    try:
        with session_scope(settings.database_url) as session:
            if session.scalar(select(InboundMail.id).where(InboundMail.key == key)) is not None:
                return None
            if mail is None:
                outcome = _Outcome("unreadable", "unmatched", note="kunde inte läsas")
            else:
                outcome = _apply(session, mail, settings=settings, now=now, limits=limits)
                if outcome.dispatch_id is not None:
                    round_id = session.get_one(Dispatch, outcome.dispatch_id).round_id
                    outcome = dataclasses.replace(outcome, round_id=round_id)
            session.add(
                InboundMail(
                    key=key,
                    read_at=now,
                    kind=outcome.kind,
                    sender=mail.sender if mail else None,
                    subject=(mail.subject if mail else "")[:2000],
                    dispatch_id=outcome.dispatch_id,
                    answer_id=outcome.answer_id,
                    folder=outcome.folder,
                    detail={"item_class": item.item_class, "note": outcome.note},
                )
            )
    except IntegrityError:
        # Another poll recorded the same message at the same moment.
        return None
    return outcome


def _find_message(session: Session, mail: IncomingMail) -> OutgoingMessage | None:
    conditions = []
    if mail.original_key:
        conditions.append(OutgoingMessage.idempotency_key == mail.original_key)
    if mail.refs:
        conditions.append(OutgoingMessage.message_ref.in_(mail.refs))
    if not conditions:
        return None
    return session.scalars(
        select(OutgoingMessage).where(or_(*conditions)).order_by(OutgoingMessage.id)
    ).first()


def _find_dispatch(session: Session, mail: IncomingMail) -> tuple[Dispatch | None, str | None]:
    """The dispatch, and the kind of message it was found by (None when by the tag)."""
    message = _find_message(session, mail)
    if message is not None:
        return message.dispatch, message.kind
    if mail.tag is not None:
        dispatch = session.get(Dispatch, mail.tag[0])
        if dispatch is not None and dispatch.round.uid.startswith(mail.tag[1]):
            return dispatch, None
    return None, None


def _apply(
    session: Session,
    mail: IncomingMail,
    *,
    settings: Settings,
    now: dt.datetime,
    limits: UploadLimits,
) -> _Outcome:
    dispatch, message_kind = _find_dispatch(session, mail)
    if dispatch is None:
        return _Outcome("unmatched", "unmatched", note="matchar ingen remiss")
    about = {"message": message_kind, "subject": mail.subject[:300], "sender": mail.sender}
    # A report about a kvittens or reminder says nothing about the remiss itself.
    is_missiv = message_kind in (MessageKind.MISSIV, None)
    if mail.kind == "delivered":
        if is_missiv and dispatch.delivered_at is None:
            dispatch.delivered_at = now
        log_event(session, dispatch_id=dispatch.id, kind=EventKind.DELIVERED, now=now, **about)
        return _Outcome("delivered", "processed", dispatch.id)
    if mail.kind == "bounced":
        reason = mail.reason or "orsaken angavs inte"
        if is_missiv:
            dispatch.bounced_at = now
            dispatch.bounce_reason = reason[:2000]
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.BOUNCED,
            now=now,
            reason=reason[:2000],
            **about,
        )
        what = "remissen" if is_missiv else f"meddelandet ({message_kind})"
        note = f"{dispatch.name} <{dispatch.email}>: {what} kunde inte levereras: {reason}"
        return _Outcome("bounced", "processed", dispatch.id, note=note[:1000])
    if mail.kind == "read":
        if dispatch.read_at is None:
            dispatch.read_at = now
        log_event(session, dispatch_id=dispatch.id, kind=EventKind.READ_RECEIPT, now=now, **about)
        return _Outcome("read", "processed", dispatch.id)
    if mail.kind == "auto_reply":
        log_event(session, dispatch_id=dispatch.id, kind=EventKind.AUTO_REPLY, now=now, **about)
        return _Outcome("auto_reply", "processed", dispatch.id)
    if mail.kind == "receipt":
        receipt = _receipt(session, dispatch, mail, now=now, about=about)
        if receipt is not None:
            return receipt
    return _answer(session, dispatch, mail, settings=settings, now=now, limits=limits)


def _same_dnr(a: str, b: str) -> bool:
    return "".join(a.split()).lower() == "".join(b.split()).lower()


def _receipt(
    session: Session,
    dispatch: Dispatch,
    mail: IncomingMail,
    *,
    now: dt.datetime,
    about: dict[str, Any],
) -> _Outcome | None:
    """A registration receipt: the remissinstans has the remiss (mottagandet bekräftat),
    with its own diarienummer when the receipt gives one. None when what looked like one
    only quotes the remiss's own diarienummer: a person reads it."""
    ours = dispatch.round.case.diarienummer
    theirs = next((d for d in mail.dnr if not _same_dnr(d, ours)), None)
    if theirs is None and not says_registered(mail.subject + "\n" + mail.text):
        return None
    first = dispatch.received_at is None
    if first:
        dispatch.received_at = now
    if theirs and not dispatch.their_diarienummer:
        dispatch.their_diarienummer = theirs[:100]
    elif not first:
        theirs = None  # nothing new to record beyond the message itself
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.RECEIVED if first else EventKind.RECEIPT_UPDATED,
        now=now,
        their_diarienummer=theirs,
        via="e-post",
        **about,
    )
    note = f"diarienummer {theirs}" if theirs else None
    return _Outcome("receipt", "processed", dispatch.id, note=note)


def _answer(
    session: Session,
    dispatch: Dispatch,
    mail: IncomingMail,
    *,
    settings: Settings,
    now: dt.datetime,
    limits: UploadLimits,
) -> _Outcome:
    """A reply: its documents become the next answer version, to be reviewed."""
    accepted: list[CheckedFile] = []
    refused: list[str] = []
    for file in mail.files[: limits.max_files]:
        try:
            accepted.append(check_file(file.filename, file.data, limits))
        except UploadError as exc:
            refused.append(f"{file.filename}: {exc}")
    about = {"subject": mail.subject[:300], "sender": mail.sender, "refused": refused}
    if dispatch.round.state == RoundState.CLOSED or not accepted:
        # Nothing to store as an answer (a question, a closed round): a person reads it.
        why = "omgången är avslutad" if accepted else "inget svarsdokument bifogat"
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.EMAIL_TO_REGISTRATOR,
            now=now,
            reason=why,
            **about,
        )
        return _Outcome("message", "unmatched", dispatch.id, note=why)
    answer = submit_answer(
        session,
        dispatch=dispatch,
        values={
            "position": NOT_REVIEWED,
            "att_sats_positions": {},
            "summary": None,
            "contact_email": mail.sender,
            "needs_review": True,
            "email_message_id": mail.key,
        },
        files=accepted,
        store=settings.documents_dir,
        now=now,
        channel="email",
    )
    if refused:
        log_event(
            session,
            dispatch_id=dispatch.id,
            kind=EventKind.EMAIL_FILES_REFUSED,
            now=now,
            answer_id=answer.id,
            **about,
        )
    return _Outcome("answer", "processed", dispatch.id, answer.id, note="; ".join(refused) or None)


def list_unmatched(settings: Settings, *, limit: int = 200) -> list[dict[str, str]]:
    """What waits in the mailbox's folder for mail that matched no remiss."""
    return describe_unmatched(load_mailbox(settings).list_folder("unmatched", limit))


def describe_unmatched(items: list[InboxItem]) -> list[dict[str, str]]:
    """What `remiss inbox unmatched` shows of each message in the unmatched folder."""
    rows = []
    for item in items:
        mail = _parse(item)
        rows.append(
            {
                "from": (mail.sender if mail else None) or "okänd avsändare",
                "date": mail.date.isoformat(timespec="minutes") if mail and mail.date else "",
                "subject": (mail.subject if mail else "") or "(utan ämne)",
                "files": ", ".join(f.filename for f in mail.files) if mail else "",
            }
        )
    return rows
