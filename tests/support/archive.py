"""A closed round of the demo case with a document of every kind a registrator registers:
the remissmissiv, answers (two versions, one with files), their kvittenser, an anstånd request
and its decision, a remissinstans that declines, a remissammanställning, and the decision
on the case sent back to every remissinstans (issue 21)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from remiss.answers import anstand, processing
from remiss.answers import service as answers
from remiss.core.settings import Settings
from remiss.core.states import MessageState
from remiss.db.engine import session_scope
from remiss.db.models import OutgoingMessage
from remiss.outbox.sending import send_batch
from remiss.report.compiling import build_for_compile, record_version
from remiss.report.render import slug, write_report
from remiss.rounds import decision as decisions
from remiss.rounds import start as rounds_start
from remiss.rounds.service import close_round
from remiss.storage.uploads import UploadLimits, check_files
from tests.support.documents import pdf_bytes
from tests.support.mailers import RecordingOutbox
from tests.support.rounds import answer_with_files, dispatch_of

TZ = "Europe/Stockholm"
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.date(2027, 1, 29)
RECIPIENTS = ["socialnamnden", "kpr", "bromma"]


def send_pending(settings: Settings, now: dt.datetime) -> None:
    with session_scope(settings.database_url) as session:
        ids = list(
            session.scalars(
                select(OutgoingMessage.id).where(OutgoingMessage.state == MessageState.PENDING)
            )
        )
    send_batch(ids, settings=settings, mailer=RecordingOutbox(settings), now=now)


def closed_demo_round(settings: Settings, case: Path) -> int:
    """Build it on `settings`' database; the round's id."""
    rounds_start.init(settings, now=T0)
    round_id = rounds_start.prepare_round(
        settings, case, now=T0, to=RECIPIENTS, deadline=DEADLINE.isoformat()
    )
    send_pending(settings, T0)
    with session_scope(settings.database_url) as session:
        answers.confirm_receipt(
            session,
            dispatch=dispatch_of(session, "socialnamnden", round_id),
            their_diarienummer="SN 2026/77",
            contact_name="Anna Berg",
            contact_email="anna.berg@stockholm.example",
            now=T0 + dt.timedelta(days=1),
        )
    first = answer_with_files(
        settings,
        "socialnamnden",
        T0 + dt.timedelta(days=10),
        answers.AnswerForm(position="avstyrker"),
    )
    second = answer_with_files(
        settings,
        "socialnamnden",
        T0 + dt.timedelta(days=12, hours=3),
        answers.AnswerForm(
            position="tillstyrker_delvis",
            summary="Nämnden stöder en praxis för att donera utrustning.",
            decision_date="2026-12-03",
            decision_paragraph="§ 12",
        ),
        documents=[("Tjänsteutlåtande åäö.pdf", pdf_bytes("Tjänsteutlåtande"))],
    )
    with session_scope(settings.database_url) as session:
        # As the process-answer flow does: a kvittens for each answer version.
        for answer_id in (first, second):
            processing.queue_kvittens(session, answer_id=answer_id)
    with session_scope(settings.database_url) as session:
        asked = anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, "bromma", round_id),
            new_date="2027-02-12",
            reason="Nämnden sammanträder i februari.",
            requested_by="registrator.bromma@stockholm.example",
            now=T0 + dt.timedelta(days=2),
        )
        anstand.decide(
            session, anstand_id=asked.id, grant=True, now=T0 + dt.timedelta(days=3), tz=TZ
        )
        answers.decline(
            session,
            dispatch=dispatch_of(session, "kpr", round_id),
            reason="Berör inte rådet.",
            now=T0 + dt.timedelta(days=4),
            tz=TZ,
        )
    send_pending(settings, T0 + dt.timedelta(days=13))
    compiled = T0 + dt.timedelta(days=14)
    report = build_for_compile(settings, round_id=round_id, now=compiled, automatic=False)
    folder = settings.data_dir / "sammanstallningar" / f"{slug(report.diarienummer)}-omgang-"
    folder = folder.with_name(folder.name + str(round_id))
    paths = write_report(report, settings, folder / compiled.strftime("%Y%m%d-%H%M%S"))
    record_version(report, paths)
    with session_scope(settings.database_url) as session:
        close_round(session, round_id=round_id, now=T0 + dt.timedelta(days=15))
    with session_scope(settings.database_url) as session:
        (protokoll,) = check_files(
            [("Protokollsutdrag KS § 5.pdf", pdf_bytes("Protokollsutdrag"))], UploadLimits()
        )
        decision = decisions.record_decision(
            session,
            round_id=round_id,
            form=decisions.DecisionForm(
                organ="KS",
                beslutsdatum="2026-12-09",
                paragraf="§ 5",
                text="Kommunstyrelsen föreslår kommunfullmäktige att anse motionen besvarad.",
                protokollsutdrag=protokoll,
            ),
            user="karin.lindqvist",
            now=T0 + dt.timedelta(days=16),
            tz=TZ,
            store=settings.documents_dir,
        )
        decisions.send_decision(
            session,
            round_id=round_id,
            decision_id=decision.id,
            user="karin.lindqvist",
            now=T0 + dt.timedelta(days=16),
        )
    send_pending(settings, T0 + dt.timedelta(days=16, hours=1))
    return round_id
