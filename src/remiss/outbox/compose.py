"""Every e-mail the system sends, from templates/email/<kind>.{subject.txt,text.txt,html}."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.cases.casefile import CaseFile
from remiss.core import dates
from remiss.core.keys import subject_tag
from remiss.core.rendering import environment
from remiss.core.settings import Settings
from remiss.core.states import PAMINNELSE_PREFIX, AnstandState, MessageKind
from remiss.core.terms import POSITION_LABELS
from remiss.core.tokens import derive_token, hash_token, new_nonce
from remiss.db.models import Anstand, Answer, Decision, Dispatch, Document, OutgoingMessage
from remiss.mail import Attachment, FollowUp, OutgoingEmail
from remiss.register.instances import Remissinstans
from remiss.reminders.schedule import escalation_contacts, joint_row, reminder_recipients
from remiss.rounds.decision import ORGANS
from remiss.storage.documents import document_path, read_verified

# What the flag asks of the official, shown by Outlook beside the deadline.
FOLLOW_UP_REQUEST = "Svara på remissen"


def answer_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/r/{token}"


def _case_context(dispatch: Dispatch, settings: Settings) -> dict[str, Any]:
    case = dispatch.round.case
    return {
        "arende": case,
        "instans": dispatch,
        "motionarer": [f"{m.namn} ({m.parti})" for m in case.motionarer],
        "att_satser": [a.text for a in case.att_satser],
        "svar_senast": dispatch.deadline,
        "avsandare": settings.sender_name,
        "stallningstaganden": POSITION_LABELS,
        # In every subject: a reply that lost its In-Reply-To still finds its dispatch.
        "tagg": subject_tag(dispatch.id, dispatch.round.uid),
    }


def render(
    name: str,
    context: dict[str, Any],
    *,
    key: str,
    to: tuple[str, ...],
    settings: Settings,
    cc: tuple[str, ...] = (),
    attachments: tuple[Attachment, ...] = (),
) -> OutgoingEmail:
    env = environment(settings.templates_dir)
    subject = env.get_template(f"email/{name}.subject.txt").render(context)
    return OutgoingEmail(
        idempotency_key=key,
        to=to,
        cc=tuple(a for a in dict.fromkeys(cc) if a not in to),
        subject=" ".join(subject.split()),
        text=env.get_template(f"email/{name}.text.txt").render(context),
        html=env.get_template(f"email/{name}.html").render(context),
        sender=settings.sender_address,
        sender_name=settings.sender_name,
        reply_to=settings.sender_address,
        attachments=attachments,
    )


def attached(documents: Sequence[Document], store: Path) -> tuple[Attachment, ...]:
    """The stored documents as attachments, each checked against its checksum."""
    return tuple(
        Attachment(
            filename=doc.filename,
            content_type=doc.content_type,
            data=read_verified(document_path(store, doc.storage_path), doc.sha256),
        )
        for doc in documents
    )


def dispatch_link(dispatch: Dispatch, settings: Settings) -> str:
    """The dispatch's current link, made again from its nonce (only the hash is stored)."""
    if dispatch.token_nonce is None:
        raise ValueError(f"dispatch {dispatch.id} has no link yet")
    token = derive_token(settings.secret_key(), dispatch.id, dispatch.token_nonce)
    if dispatch.token_hash != hash_token(token):
        raise ValueError("the secret key has changed since the link was sent")
    return answer_link(dispatch.round.base_url, token)


def _missiv(session: Session, message: OutgoingMessage, settings: Settings) -> OutgoingEmail:
    dispatch = message.dispatch
    # The link is fixed when the missiv is first composed: a retry, or a second sender that
    # took over the claim, sends the same link, so every copy that ever leaves works.
    if dispatch.token_nonce is None:
        dispatch.token_nonce = new_nonce()
    token = derive_token(settings.secret_key(), dispatch.id, dispatch.token_nonce)
    dispatch.token_hash = hash_token(token)
    documents = dispatch.round.case.documents
    context = _case_context(dispatch, settings) | {
        "link": answer_link(dispatch.round.base_url, token),
        "handlingar": documents,
    }
    email = render(
        "missiv",
        context,
        key=message.idempotency_key,
        to=(dispatch.email,),
        settings=settings,
        attachments=attached(documents, settings.documents_dir),
    )
    # The remiss in the official's Outlook task list: from the round's start to the end
    # of their svarsdag.
    flag = FollowUp(
        FOLLOW_UP_REQUEST,
        dispatch.round.started_at,
        dates.deadline_end(dispatch.deadline, settings.timezone),
    )
    return dataclasses.replace(email, follow_up=flag)


def missiv_preview(
    *,
    case: CaseFile,
    recipient: Remissinstans,
    deadline: dt.date,
    handlingar: Sequence[Document],
    settings: Settings,
    link: str,
    tagg: str,
    now: dt.datetime,
) -> OutgoingEmail:
    """The remissmissiv as `_missiv` builds it for `recipient`, before the round exists (the
    case file's fields are named as the stored case's). `link` and `tagg` stand in for the
    personal link and the subject's Remiss-ID; the caller lists the attachments. The
    follow-up flag starts `now`, as if the round started now."""
    context = {
        "arende": case,
        "instans": recipient,
        "motionarer": [f"{m.namn} ({m.parti})" for m in case.motionarer],
        "att_satser": list(case.att_satser),
        "svar_senast": deadline,
        "avsandare": settings.sender_name,
        "stallningstaganden": POSITION_LABELS,
        "tagg": tagg,
        "link": link,
        "handlingar": handlingar,
    }
    email = render(
        "missiv", context, key="förhandsgranskning", to=(recipient.email,), settings=settings
    )
    flag = FollowUp(FOLLOW_UP_REQUEST, now, dates.deadline_end(deadline, settings.timezone))
    return dataclasses.replace(email, follow_up=flag)


def _kvittens(session: Session, message: OutgoingMessage, settings: Settings) -> OutgoingEmail:
    dispatch = message.dispatch
    answer = session.scalars(
        select(Answer).where(Answer.dispatch_id == dispatch.id, Answer.version == message.stage)
    ).one()
    names = {d.remissinstans.code: d.name for d in dispatch.round.dispatches}
    context = _case_context(dispatch, settings) | {
        "svar": answer,
        "gemensamt": [names.get(code, code) for code in answer.joint_with],
    }
    return render(
        "kvittens",
        context,
        key=message.idempotency_key,
        to=(dispatch.email,),
        cc=(answer.contact_email,) if answer.contact_email else (),
        settings=settings,
    )


def _anstand_beslut(
    session: Session, message: OutgoingMessage, settings: Settings
) -> OutgoingEmail:
    dispatch = message.dispatch
    request = session.get_one(Anstand, message.stage)
    context = _case_context(dispatch, settings) | {"anstand": request}
    return render(
        "anstand_beslut",
        context,
        key=message.idempotency_key,
        to=(dispatch.email,),
        cc=(request.requested_by,) if request.requested_by else (),
        settings=settings,
    )


def _paminnelse(session: Session, message: OutgoingMessage, settings: Settings) -> OutgoingEmail:
    dispatch = message.dispatch
    name = message.kind.removeprefix(PAMINNELSE_PREFIX)
    stage_kind = name.rstrip("0123456789")
    to, cc = reminder_recipients(dispatch, stage_kind)
    escalation = escalation_contacts(dispatch)
    context = _case_context(dispatch, settings) | {
        "steg": stage_kind,
        "dagar": int(name[len(stage_kind) :] or 0),
        "link": dispatch_link(dispatch, settings),
        "eskaleringskontakt": escalation[0] if escalation else None,
        "anstand_beviljat": any(a.state == AnstandState.GRANTED for a in dispatch.anstand),
    }
    return render(
        "paminnelse", context, key=message.idempotency_key, to=to, cc=cc, settings=settings
    )


def _beslut(session: Session, message: OutgoingMessage, settings: Settings) -> OutgoingEmail:
    """The decision on the case, with its protokollsutdrag (the stage is the decision's id)."""
    dispatch = message.dispatch
    decision = session.get_one(Decision, message.stage)
    context = _case_context(dispatch, settings) | {
        "beslut": decision,
        "organ": ORGANS.get(decision.organ, decision.organ),
        "bilagor": decision.documents,
    }
    return render(
        "beslut",
        context,
        key=message.idempotency_key,
        to=(dispatch.email,),
        settings=settings,
        attachments=attached(decision.documents, settings.documents_dir),
    )


def _gemensamt_svar(
    session: Session, message: OutgoingMessage, settings: Settings
) -> OutgoingEmail:
    """Asks a partner named in another's answer to confirm it, with the partner's own link
    (the stage is the claim's id, so each claim is asked once)."""
    partner = message.dispatch
    answer = joint_row(session, message.stage).answer
    context = _case_context(partner, settings) | {
        "part": answer.dispatch,
        "svar": answer,
        "link": dispatch_link(partner, settings),
    }
    return render(
        "gemensamt_svar",
        context,
        key=message.idempotency_key,
        to=(partner.email,),
        cc=(partner.contact_email,) if partner.contact_email else (),
        settings=settings,
    )


def _ny_svarstid(session: Session, message: OutgoingMessage, settings: Settings) -> OutgoingEmail:
    dispatch = message.dispatch
    # The deadline as it is when the message is composed: after two extensions in a row,
    # both notices give the latest date.
    context = _case_context(dispatch, settings) | {"link": dispatch_link(dispatch, settings)}
    return render(
        "ny_svarstid",
        context,
        key=message.idempotency_key,
        to=(dispatch.email,),
        cc=(dispatch.contact_email,) if dispatch.contact_email else (),
        settings=settings,
    )


_BUILDERS: dict[str, Callable[[Session, OutgoingMessage, Settings], OutgoingEmail]] = {
    MessageKind.MISSIV: _missiv,
    MessageKind.KVITTENS: _kvittens,
    MessageKind.ANSTAND_BESLUT: _anstand_beslut,
    MessageKind.GEMENSAMT_SVAR: _gemensamt_svar,
    MessageKind.BESLUT: _beslut,
    MessageKind.NY_SVARSTID: _ny_svarstid,
}


def build_message(
    session: Session, *, message: OutgoingMessage, settings: Settings
) -> OutgoingEmail:
    if message.kind.startswith(PAMINNELSE_PREFIX):
        return _paminnelse(session, message, settings)
    return _BUILDERS[message.kind](session, message, settings)
