"""Start a round and send its remissmissiv in-process, for tests that need working links."""

from __future__ import annotations

import datetime as dt
import email
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.answers import service as answers
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch
from remiss.outbox.sending import send_missiv
from remiss.rounds import start as rounds_start
from remiss.storage.uploads import UploadLimits, check_files
from tests.conftest import future_deadline
from tests.support.documents import docx_bytes, pdf_bytes
from tests.support.mailers import RecordingOutbox


def read_eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def link_in(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+", body.get_content())
    assert match, "the e-mail carries a personal link"
    return match.group(0)


def start_and_send(settings: Settings, case: Path, to: list[str]) -> dict[str, str]:
    """Start a round to `to` and send it; returns each token, read from its e-mail."""
    rounds_start.init(settings, now=utcnow())
    round_id = rounds_start.prepare_round(
        settings, case, now=utcnow(), to=to, deadline=future_deadline().isoformat()
    )
    mailer = RecordingOutbox(settings)
    for dispatch_id in rounds_start.pending_sends(settings, round_id):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
    tokens = {}
    for path in settings.outbox_dir.glob("*_missiv_0.eml"):
        code = path.name.split("_", 1)[1].rsplit("_missiv_0.eml", 1)[0]
        tokens[code] = link_in(read_eml(path)).rsplit("/", 1)[1]
    return tokens


def dispatch_of(session: Session, code: str, round_id: int | None = None) -> Dispatch:
    """The dispatch to the remissinstans `code` (in `round_id` when there are several)."""
    query = select(Dispatch).where(Dispatch.remissinstans.has(code=code))
    if round_id is not None:
        query = query.where(Dispatch.round_id == round_id)
    return session.scalars(query).one()


def answer_with_files(
    settings: Settings,
    code: str,
    when: dt.datetime,
    form: answers.AnswerForm,
    *,
    channel: str = "web",
    documents: list[tuple[str, bytes]] | None = None,
) -> int:
    """Store an answer with its files (a PDF and a DOCX unless given) as the answer page
    does; its id."""
    files = check_files(
        documents or [("svar.pdf", pdf_bytes()), ("svar.docx", docx_bytes())], UploadLimits()
    )
    with session_scope(settings.database_url) as session:
        d = dispatch_of(session, code)
        values = answers.check_answer(d, form, now=when, tz=settings.timezone)
        answer = answers.submit_answer(
            session,
            dispatch=d,
            values=values,
            files=files,
            store=settings.documents_dir,
            now=when,
            channel=channel,
        )
        return answer.id
