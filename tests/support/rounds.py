"""Start a round and send its remissmissiv in-process, for tests that need working links."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.outbox.sending import send_missiv
from remiss.rounds import start as rounds_start
from tests.conftest import future_deadline
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
