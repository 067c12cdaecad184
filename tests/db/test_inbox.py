"""The mailbox poll on both databases, with the folder mailbox: what each kind of incoming
mail does to a dispatch, and that nothing is processed twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from remiss.answers import review
from remiss.core.dates import utcnow
from remiss.core.errors import ConflictError, InputError
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Dispatch, Event, InboundMail, Round
from remiss.inbox import poll as inbox
from remiss.mail.base import Folder, InboxItem
from remiss.mail.outbox import FolderMailbox
from remiss.report.content import build_report
from remiss.rounds.status import status_document
from remiss.storage.uploads import upload_limits
from tests.conftest import SettingsFactory
from tests.support.documents import pdf_bytes
from tests.support.incoming import read_receipt, reply, report
from tests.support.rounds import read_eml, start_and_send


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str, case_dir: Path) -> Settings:
    s = make_settings(database_url)
    start_and_send(s, case_dir / "arende.yaml", ["rad"])
    return s


def missiv(settings: Settings, code: str) -> Path:
    return next(settings.outbox_dir.glob(f"*_{code}_missiv_0.eml"))


def drop(settings: Settings, name: str, data: bytes) -> None:
    settings.inbox_path.mkdir(parents=True, exist_ok=True)
    (settings.inbox_path / name).write_bytes(data)


def poll(settings: Settings, mailbox: FolderMailbox | None = None) -> inbox.PollResult:
    return inbox.poll(
        settings,
        mailbox or FolderMailbox(settings.inbox_path),
        now=utcnow(),
        limits=upload_limits(settings),
    )


def dispatch(settings: Settings, code: str) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=utcnow(), tz=settings.timezone)
    return next(d for d in doc["rounds"][0]["dispatches"] if d["code"] == code)


def test_a_reply_with_a_document_becomes_an_answer_to_review(settings: Settings) -> None:
    original = read_eml(missiv(settings, "kpr"))
    pdf = pdf_bytes("Yttrande från kommunala pensionärsrådet")
    drop(settings, "svar.eml", reply(original, files=(("yttrande.pdf", pdf, "application/pdf"),)))

    result = poll(settings)

    assert len(result.answers) == 1
    d = dispatch(settings, "kpr")
    # Not an answer until a person has read it: the reminders go on meanwhile.
    assert d["progress"] == "to_review"
    assert d["progress_label"] == "svar inkommet via e-post, ska granskas"
    assert d["answer"]["channel"] == "email"
    assert d["answer"]["needs_review"] is True
    assert d["answer"]["files"][0]["filename"] == "yttrande.pdf"
    assert (settings.inbox_path / "behandlade" / "svar.eml").exists()
    assert not (settings.inbox_path / "svar.eml").exists()


def test_a_reply_that_lost_its_threading_is_matched_by_the_subject_tag(
    settings: Settings,
) -> None:
    original = read_eml(missiv(settings, "kpr"))
    assert "[Remiss-ID " in str(original["Subject"])
    data = reply(original, threaded=False, files=(("y.pdf", pdf_bytes("Svar"), "application/pdf"),))
    drop(settings, "svar.eml", data)
    assert len(poll(settings).answers) == 1
    assert dispatch(settings, "kpr")["answer"] is not None


def test_delivery_report_bounce_and_read_receipt_change_the_state(settings: Settings) -> None:
    drop(settings, "1.eml", report(read_eml(missiv(settings, "kpr")), action="delivered"))
    drop(settings, "2.eml", report(read_eml(missiv(settings, "konstradet")), action="failed"))
    drop(settings, "3.eml", read_receipt(read_eml(missiv(settings, "kpr")), reader="x@y.se"))

    result = poll(settings)

    assert (result.delivered, len(result.bounced), result.read_receipts) == (1, 1, 1)
    assert "550 5.1.1" in result.bounced[0]
    assert dispatch(settings, "kpr")["progress"] == "delivered"
    assert dispatch(settings, "kpr")["read_at"] is not None
    bounced = dispatch(settings, "konstradet")
    assert bounced["progress"] == "bounced"
    assert "User unknown" in str(bounced["bounce_reason"])
    with session_scope(settings.database_url) as session:
        compiled = build_report(session.scalars(select(Round)).one(), now=utcnow(), tz="UTC")
    row = next(r for r in compiled.rows if r.name == "Stockholms konstråd")
    assert "remissen kom inte fram (e-posten studsade)" in row.remarks


def test_an_out_of_office_reply_is_not_an_answer(settings: Settings) -> None:
    original = read_eml(missiv(settings, "kpr"))
    drop(settings, "auto.eml", reply(original, auto=True, subject="Automatiskt svar: Remiss"))
    result = poll(settings)
    assert result.auto_replies == 1
    assert dispatch(settings, "kpr")["answer"] is None


def test_a_registration_receipt_is_recorded_as_the_remissinstans_kvittens(
    settings: Settings,
) -> None:
    original = read_eml(missiv(settings, "kpr"))
    receipt = reply(
        original,
        auto=True,
        subject="Automatiskt svar: " + str(original["Subject"]),
        body="Ert meddelande har diarieförts med diarienummer KPR 2026/77.\nRegistrator",
    )
    drop(settings, "kvitto.eml", receipt)
    result = poll(settings)
    assert (result.receipts, result.answers, result.auto_replies) == (1, [], 0)
    d = dispatch(settings, "kpr")
    assert d["answer"] is None
    assert d["progress"] == "received"
    assert d["their_diarienummer"] == "KPR 2026/77"
    assert (settings.inbox_path / "behandlade" / "kvitto.eml").exists()
    with session_scope(settings.database_url) as session:
        kinds = session.scalars(select(InboundMail.kind)).all()
        events = session.scalars(select(Event).where(Event.kind == "received")).all()
    assert kinds == ["receipt"]
    assert [e.detail["via"] for e in events] == ["e-post"]


def test_a_short_question_naming_only_the_remiss_dnr_goes_to_the_registrator(
    settings: Settings,
) -> None:
    original = read_eml(missiv(settings, "kpr"))
    with session_scope(settings.database_url) as session:
        ours = session.scalars(select(Round)).one().case.diarienummer
    drop(settings, "fraga.eml", reply(original, body=f"Gäller dnr {ours} även rådet."))
    result = poll(settings)
    assert result.receipts == 0
    assert dispatch(settings, "kpr")["received_at"] is None


def test_mail_that_matches_nothing_goes_to_the_registrator(settings: Settings) -> None:
    original = read_eml(missiv(settings, "kpr"))
    drop(settings, "x.eml", reply(original, threaded=False, subject="Fråga om parkering"))
    result = poll(settings)
    assert result.unmatched == 1
    assert (settings.inbox_path / "omatchade" / "x.eml").exists()
    rows = inbox.list_unmatched(settings)
    assert [r["subject"] for r in rows] == ["Fråga om parkering"]


def test_a_reply_without_a_usable_document_is_left_to_a_person(settings: Settings) -> None:
    original = read_eml(missiv(settings, "kpr"))
    exe = (("program.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/octet-stream"),)
    drop(settings, "svar.eml", reply(original, files=exe))
    result = poll(settings)
    assert result.answers == []
    assert (settings.inbox_path / "omatchade" / "svar.eml").exists()
    with session_scope(settings.database_url) as session:
        kinds = session.scalars(select(Event.kind)).all()
    assert "email_to_registrator" in kinds


class CrashesWhenFiling(FolderMailbox):
    def file(self, item: InboxItem, folder: Folder) -> None:
        raise ConnectionError("the connection dropped before the move")


def test_a_poll_that_stops_half_way_never_processes_a_message_twice(settings: Settings) -> None:
    original = read_eml(missiv(settings, "kpr"))
    data = reply(original, files=(("y.pdf", pdf_bytes("Svar"), "application/pdf"),))
    drop(settings, "svar.eml", data)
    with pytest.raises(ConnectionError):
        poll(settings, CrashesWhenFiling(settings.inbox_path))
    assert (settings.inbox_path / "svar.eml").exists()  # recorded, but still in the inbox

    again = poll(settings)

    assert (again.read, again.already_recorded, again.answers) == (1, 1, [])
    assert (settings.inbox_path / "behandlade" / "svar.eml").exists()
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == 1
        assert session.scalar(select(func.count()).select_from(InboundMail)) == 1


def test_an_e_mail_reviewed_as_not_an_answer_leaves_the_dispatch_unanswered(
    settings: Settings,
) -> None:
    original = read_eml(missiv(settings, "kpr"))
    pdf = (("kvitto.pdf", pdf_bytes("Registreringskvitto"), "application/pdf"),)
    drop(settings, "svar.eml", reply(original, sender="privat@gmail.example", files=pdf))
    poll(settings)
    waiting = review.answers_to_review(settings)
    assert [(r["code"], r["sender_outside"]) for r in waiting] == [("kpr", True)]
    assert dispatch(settings, "kpr")["progress"] == "to_review"

    name = review.reject(settings, str(waiting[0]["round"]), "kpr", reviewer="Eva", now=utcnow())

    assert name == "Kommunala pensionärsrådet"
    d = dispatch(settings, "kpr")
    assert d["answer"] is None
    assert d["progress"] not in ("answered", "to_review")
    assert d["answer_versions"] == 1  # kept as it came, a public record
    assert review.answers_to_review(settings) == []
    with pytest.raises(ConflictError):
        review.reject(settings, str(waiting[0]["round"]), "kpr", reviewer="Eva", now=utcnow())


def test_review_records_the_position_as_the_next_version(settings: Settings) -> None:
    original = read_eml(missiv(settings, "kpr"))
    data = reply(original, files=(("y.pdf", pdf_bytes("Svar"), "application/pdf"),))
    drop(settings, "svar.eml", data)
    poll(settings)
    assert [r["code"] for r in review.answers_to_review(settings)] == ["kpr"]
    round_id = str(review.answers_to_review(settings)[0]["round"])

    with pytest.raises(InputError, match="--stallningstagande"):
        review.review(
            settings, round_id, "kpr", position="kanske", att_sats_positions={},
            summary=None, reviewer="Eva", now=utcnow(),
        )  # fmt: skip
    name, version = review.review(
        settings, round_id, "kpr", position="avstyrker", att_sats_positions={1: "avstyrker"},
        summary="Rådet avstyrker.", reviewer="Eva Registrator", now=utcnow(),
    )  # fmt: skip

    assert (name, version) == ("Kommunala pensionärsrådet", 2)
    d = dispatch(settings, "kpr")
    assert d["answer"]["position"] == "avstyrker"
    assert d["answer"]["needs_review"] is False
    assert d["answer"]["reviewed_by"] == "Eva Registrator"
    assert d["answer"]["files"][0]["filename"] == "y.pdf"
    assert review.answers_to_review(settings) == []
    with pytest.raises(ConflictError):
        review.review(
            settings, round_id, "kpr", position="avstyrker", att_sats_positions={},
            summary=None, reviewer="Eva", now=utcnow(),
        )  # fmt: skip
    with session_scope(settings.database_url) as session:
        first = session.scalars(select(Answer).where(Answer.version == 1)).one()
        assert first.needs_review  # the e-mailed version is kept as it came
        assert first.position == "ej_granskat"
        current = session.get_one(Dispatch, first.dispatch_id).current_answer
        assert current is not None
        assert current.version == 2
