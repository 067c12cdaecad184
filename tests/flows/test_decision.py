"""The decision on a case goes back to every remissinstans of the round, once, through
the workspace's `skicka` job (a real Prefect server, the recording outbox)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from flows.messages import send_round_messages
from remiss.core import dates
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.rounds.decision import DecisionForm, record_decision, send_decision
from remiss.rounds.service import close_round
from remiss.storage.uploads import UploadLimits, check_file
from tests.support.documents import pdf_bytes
from tests.support.mailers import send_calls
from tests.support.rounds import read_eml, start_and_send

RECIPIENTS = ["socialnamnden", "kulturnamnden", "kpr"]
PROTOKOLL = pdf_bytes("Protokollsutdrag KS 8")


def test_the_decision_goes_once_to_every_remissinstans_with_the_protokollsutdrag(
    settings: Settings, case_dir: Path
) -> None:
    tokens = start_and_send(settings, case_dir / "arende.yaml", RECIPIENTS)
    with session_scope(settings.database_url) as session:
        round_id = session.scalars(select(Round.id)).one()
    now = dates.utcnow()
    today = dates.local_today(now, settings.timezone)
    with session_scope(settings.database_url) as session:
        close_round(session, round_id=round_id, now=now)
    with session_scope(settings.database_url) as session:
        decision = record_decision(
            session,
            round_id=round_id,
            form=DecisionForm(
                organ="KS",
                beslutsdatum=today.isoformat(),
                paragraf="8",
                text="Motionen anses besvarad.",
                protokollsutdrag=check_file("Protokollsutdrag.pdf", PROTOKOLL, UploadLimits()),
            ),
            user="karin",
            now=now,
            tz=settings.timezone,
            store=settings.documents_dir,
        )
        decision_id = decision.id
    # A double click: the second queues nothing, and the job runs twice.
    for _ in range(2):
        with session_scope(settings.database_url) as session:
            send_decision(
                session, round_id=round_id, decision_id=decision_id, user="karin", now=now
            )
        send_round_messages(round_id)

    mails = sorted(settings.outbox_dir.glob(f"*_beslut_{decision_id}.eml"))
    assert len(mails) == len(RECIPIENTS) == len(tokens)
    beslut_calls = {k: n for k, n in send_calls(settings.outbox_dir).items() if "/beslut/" in k}
    assert sorted(beslut_calls.values()) == [1, 1, 1]
    addressees = set()
    for path in mails:
        msg = read_eml(path)
        addressees.add(msg["To"])
        assert "KS § 8" in msg["Subject"]
        text = msg.get_body(preferencelist=("plain",))
        assert text is not None
        body = text.get_content()
        assert "Kommunstyrelsen beslutade den" in body
        assert "Motionen anses besvarad." in body
        [attachment] = list(msg.iter_attachments())
        assert attachment.get_filename() == "Protokollsutdrag.pdf"
        assert attachment.get_content() == PROTOKOLL
    assert len(addressees) == len(RECIPIENTS)
