"""Every e-mail the system sends, from templates/email/<kind>.{subject.txt,text.txt,html}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.documents import read_verified
from remiss.mail import Attachment, OutgoingEmail
from remiss.models import Anstand, Answer, Dispatch, OutgoingMessage
from remiss.rendering import environment
from remiss.rounds import MISSIV
from remiss.settings import Settings
from remiss.terms import STALLNINGSTAGANDEN
from remiss.tokens import hash_token, new_token

KVITTENS = "kvittens"
ANSTAND_BESLUT = "anstand_beslut"


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
        "stallningstaganden": STALLNINGSTAGANDEN,
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


def _missiv(session: Session, message: OutgoingMessage, settings: Settings) -> OutgoingEmail:
    dispatch = message.dispatch
    token = new_token()
    dispatch.token_hash = hash_token(token)
    documents = dispatch.round.case.documents
    context = _case_context(dispatch, settings) | {
        "link": answer_link(dispatch.round.base_url, token),
        "handlingar": documents,
    }
    return render(
        "missiv",
        context,
        key=message.idempotency_key,
        to=(dispatch.email,),
        settings=settings,
        attachments=tuple(
            Attachment(
                filename=doc.filename,
                content_type=doc.content_type,
                data=read_verified(Path(doc.storage_path), doc.sha256),
            )
            for doc in documents
        ),
    )


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


_BUILDERS = {MISSIV: _missiv, KVITTENS: _kvittens, ANSTAND_BESLUT: _anstand_beslut}


def build_message(
    session: Session, message: OutgoingMessage, *, settings: Settings
) -> OutgoingEmail:
    return _BUILDERS[message.kind](session, message, settings)
