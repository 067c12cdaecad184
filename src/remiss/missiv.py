"""Render the remissmissiv for one dispatch."""

from __future__ import annotations

from pathlib import Path

from remiss.documents import read_verified
from remiss.mail import Attachment, OutgoingEmail
from remiss.models import Dispatch
from remiss.rendering import environment
from remiss.settings import Settings


def answer_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/r/{token}"


def build_missiv(dispatch: Dispatch, *, token: str, key: str, settings: Settings) -> OutgoingEmail:
    rnd = dispatch.round
    case = rnd.case
    env = environment(settings.templates_dir)
    context = {
        "arende": case,
        "instans": dispatch,
        "motionarer": [f"{m.namn} ({m.parti})" for m in case.motionarer],
        "att_satser": [a.text for a in case.att_satser],
        "svar_senast": dispatch.deadline,
        "link": answer_link(rnd.base_url, token),
        "handlingar": case.documents,
        "avsandare": settings.sender_name,
    }
    subject = env.get_template("email/missiv.subject.txt").render(context)
    return OutgoingEmail(
        idempotency_key=key,
        to=(dispatch.email,),
        subject=" ".join(subject.split()),
        text=env.get_template("email/missiv.text.txt").render(context),
        html=env.get_template("email/missiv.html").render(context),
        sender=settings.sender_address,
        sender_name=settings.sender_name,
        reply_to=settings.sender_address,
        attachments=tuple(
            Attachment(
                filename=doc.filename,
                content_type=doc.content_type,
                data=read_verified(Path(doc.storage_path), doc.sha256),
            )
            for doc in case.documents
        ),
    )
