"""Rounds in the database, on SQLite and PostgreSQL: storing, refusing, sending once."""

from __future__ import annotations

import datetime as dt
import email
import email.utils
import hashlib
import re
import threading
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select

from remiss.answers import service as answers
from remiss.core.dates import utcnow
from remiss.core.errors import ConflictError, InputError
from remiss.core.settings import Settings
from remiss.core.states import DispatchState, EventKind, MessageState
from remiss.core.tokens import hash_token
from remiss.db.engine import alembic_config, session_scope
from remiss.db.models import Case, Dispatch, Document, Event, OutgoingMessage, Round
from remiss.mail import TemporaryMailError
from remiss.outbox.compose import build_message
from remiss.outbox.sending import send_missiv
from remiss.rounds import start as rounds_start
from remiss.rounds.status import status_document
from tests.conftest import SettingsFactory
from tests.support.mailers import RecordingOutbox, send_calls
from tests.support.rounds import link_in

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = "2027-01-29"


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=NOW)
    return s


def start(settings: Settings, case: Path, **kwargs: object) -> int:
    return rounds_start.prepare_round(settings, case, now=NOW, deadline=DEADLINE, **kwargs)  # type: ignore[arg-type]


def send_all(settings: Settings, round_id: int, mailer: RecordingOutbox) -> None:
    for dispatch_id in rounds_start.pending_sends(settings, round_id):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=NOW)


def read_eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def link_token(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"https://remiss\.stockholm\.example/r/([A-Za-z0-9_-]+)", body.get_content())
    assert match, "the e-mail carries the personal answer link"
    return match.group(1)


def count(settings: Settings, model: type[object]) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_round_stores_case_dispatches_and_claims(settings: Settings, case_dir: Path) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    with session_scope(settings.database_url) as session:
        rnd = session.get_one(Round, round_id)
        assert rnd.case.diarienummer == "KS 2025/348"
        assert [(m.namn, m.parti) for m in rnd.case.motionarer] == [
            ("Dennis Wedin", "M"),
            ("Jan Jönsson", "L"),
            ("Jonas Naddebo", "C"),
            ("Nike Örbrink", "KD"),
        ]
        assert [a.number for a in rnd.case.att_satser] == [1, 2]
        assert len(rnd.dispatches) == 18
        assert {d.state for d in rnd.dispatches} == {"pending"}
        assert all(d.deadline == dt.date(2027, 1, 29) for d in rnd.dispatches)
        assert all(d.token_hash is None for d in rnd.dispatches)
        doc = rnd.case.documents[0]
        original = (case_dir / "motion.pdf").read_bytes()
        assert doc.sha256 == hashlib.sha256(original).hexdigest()
        assert (settings.documents_dir / doc.storage_path).read_bytes() == original
        assert doc.content_type == "application/pdf"
        kinds = session.scalars(select(Event.kind)).all()
        assert kinds == ["created"] * 18


def test_invalid_case_stores_nothing(settings: Settings, case_dir: Path) -> None:
    case = case_dir / "arende.yaml"
    case.write_text(case.read_text().replace("- socialnamnden", "- socialnamden"))
    with pytest.raises(InputError) as info:
        start(settings, case)
    assert "socialnamden" in str(info.value)
    assert count(settings, Round) == 0
    assert count(settings, Case) == 0
    assert count(settings, Document) == 0
    assert not settings.documents_dir.exists() or not any(settings.documents_dir.rglob("*"))


def test_second_round_for_open_diarienummer_is_refused(settings: Settings, case_dir: Path) -> None:
    first = start(settings, case_dir / "arende.yaml")
    with pytest.raises(ConflictError) as info:
        start(settings, case_dir / "arende.yaml")
    message = str(info.value)
    assert "KS 2025/348" in message
    assert f"omgång {first}" in message
    assert "--ny-omgang" in message
    assert f"remiss round send {first}" in message, "unsent messages: says how to send them"
    assert count(settings, Round) == 1
    second = start(settings, case_dir / "arende.yaml", new_round=True)
    assert second != first
    assert count(settings, Dispatch) == 36


def test_a_retried_flow_run_gets_its_round_back(settings: Settings, case_dir: Path) -> None:
    first = start(settings, case_dir / "arende.yaml", flow_run_id="run-1")
    again = start(settings, case_dir / "arende.yaml", flow_run_id="run-1")
    assert again == first
    assert count(settings, Round) == 1


def test_each_remissinstans_gets_one_missiv_with_its_own_link(
    settings: Settings, case_dir: Path
) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    mailer = RecordingOutbox(settings)
    send_all(settings, round_id, mailer)
    send_all(settings, round_id, mailer)  # a re-run finds nothing left to send

    files = sorted(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 18
    assert set(send_calls(settings.outbox_dir).values()) == {1}
    with session_scope(settings.database_url) as session:
        dispatches = {d.email: d for d in session.scalars(select(Dispatch))}
        tokens = set()
        for path in files:
            msg = read_eml(path)
            dispatch = dispatches[str(msg["To"])]
            token = link_token(msg)
            assert hash_token(token) == dispatch.token_hash
            assert token not in {d.token_hash for d in dispatches.values()}
            tokens.add(token)
            assert "KS 2025/348" in str(msg["Subject"])
            assert "29 januari 2027" in str(msg["Subject"])
            attachments = list(msg.iter_attachments())
            assert [a.get_filename() for a in attachments] == ["motion.pdf"]
            assert attachments[0].get_content() == (case_dir / "motion.pdf").read_bytes()
            assert dispatch.state == "sent"
            # Flagged in the official's Outlook until the svarsdag (29 January 2027) ends.
            assert msg["X-Message-Flag"] == "Svara på remissen"
            reply_by = email.utils.parsedate_to_datetime(str(msg["Reply-By"]))
            assert reply_by == dt.datetime(2027, 1, 29, 22, 59, 59, tzinfo=dt.UTC)
        assert len(tokens) == 18
        assert session.scalar(select(func.count()).where(Event.kind == "sent")) == 18


def test_concurrent_senders_send_each_message_once(settings: Settings, case_dir: Path) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    ids = rounds_start.pending_sends(settings, round_id)
    mailer = RecordingOutbox(settings)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            for dispatch_id in ids:
                send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    calls = send_calls(settings.outbox_dir)
    assert len(calls) == 18
    assert set(calls.values()) == {1}


def test_a_crash_after_sending_is_recovered_without_a_second_copy(
    settings: Settings, case_dir: Path
) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    dispatch_id = rounds_start.pending_sends(settings, round_id)[0]
    mailer = RecordingOutbox(settings)
    send_missiv(dispatch_id, settings=settings, mailer=mailer, now=NOW)
    # Make the database look as if the process died between sending and marking it sent.
    with session_scope(settings.database_url) as session:
        msg = session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.dispatch_id == dispatch_id)
        ).one()
        msg.state, msg.claimed_by, msg.claimed_at, msg.claim_renewed_at = (
            MessageState.SENDING,
            "another-host:4242",
            NOW,
            None,
        )
        session.get_one(Dispatch, dispatch_id).state = DispatchState.PENDING

    later = NOW + dt.timedelta(seconds=settings.send_lease_seconds - 1)
    busy = send_missiv(dispatch_id, settings=settings, mailer=mailer, now=later)
    assert busy.result == "busy", "a live claim on another machine is respected within the lease"

    after_lease = NOW + dt.timedelta(seconds=settings.send_lease_seconds)
    outcome = send_missiv(dispatch_id, settings=settings, mailer=mailer, now=after_lease)
    assert outcome.result == "recovered"
    assert sum(send_calls(settings.outbox_dir).values()) == 1
    with session_scope(settings.database_url) as session:
        assert session.get_one(Dispatch, dispatch_id).state == "sent"


def test_temporary_failure_releases_the_claim_and_the_retry_sends(
    settings: Settings, case_dir: Path
) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    dispatch_id = rounds_start.pending_sends(settings, round_id)[0]
    mailer = RecordingOutbox(settings)
    mailer.flaky = True
    failed = send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
    assert (failed.result, failed.detail) == ("unsent", "servern är upptagen, försök igen senare")
    with session_scope(settings.database_url) as session:
        msg = session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.dispatch_id == dispatch_id)
        ).one()
        assert (msg.state, msg.attempts) == ("pending", 1)
        assert "upptagen" in (msg.last_error or "")
        # Nothing is at work on it: the status says it waits, not that it is being sent.
        assert session.get_one(Dispatch, dispatch_id).state == "pending"
    outcome = send_missiv(dispatch_id, settings=settings, mailer=mailer, now=utcnow())
    assert outcome.result == "sent"
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1
    with session_scope(settings.database_url) as session:
        kinds = [e.kind for e in session.get_one(Dispatch, dispatch_id).events]
        assert kinds == ["created", "send_retry", "sent"]


def test_permanent_failure_marks_the_dispatch_failed(settings: Settings, case_dir: Path) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    mailer = RecordingOutbox(settings)
    mailer.fail_keys = ["/bromma/"]
    send_all(settings, round_id, mailer)
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=NOW, tz=settings.timezone)
    states = {d["code"]: d for d in doc["rounds"][0]["dispatches"]}
    assert states["bromma"]["state"] == "failed"
    assert "finns inte" in states["bromma"]["last_error"]
    assert doc["rounds"][0]["counts"]["sent"] == 17
    assert doc["rounds"][0]["counts"]["failed"] == 1
    # A failed message is not retried by a re-run.
    send_all(settings, round_id, mailer)
    assert "bromma" not in " ".join(send_calls(settings.outbox_dir))


def test_status_document_agrees_with_the_outbox(settings: Settings, case_dir: Path) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    send_all(settings, round_id, RecordingOutbox(settings))
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=NOW, tz=settings.timezone)
    assert doc["schema"] == "remiss.status/1"
    (rnd,) = doc["rounds"]
    assert rnd["diarienummer"] == "KS 2025/348"
    assert rnd["counts"] == {"pending": 0, "sending": 0, "sent": 18, "failed": 0, "total": 18}
    recipients = {str(read_eml(p)["To"]) for p in settings.outbox_dir.glob("*.eml")}
    assert {d["email"] for d in rnd["dispatches"]} == recipients
    assert all(d["sent_at"] == "2026-11-23T09:00:00Z" for d in rnd["dispatches"])
    assert not any(d["overdue"] for d in rnd["dispatches"])
    after = dt.datetime(2027, 1, 29, 23, 0, 0, tzinfo=dt.UTC)  # 30 January 00:00 in Stockholm
    with session_scope(settings.database_url) as session:
        late = status_document(session, now=after, tz=settings.timezone)
    assert all(d["overdue"] for d in late["rounds"][0]["dispatches"])


def test_the_event_log_is_append_only(settings: Settings, case_dir: Path) -> None:
    start(settings, case_dir / "arende.yaml")

    def rewrite_an_event() -> None:
        with session_scope(settings.database_url) as session:
            event = session.scalars(select(Event)).first()
            assert event is not None
            event.kind = EventKind.DECLINED

    with pytest.raises(RuntimeError, match="append-only"):
        rewrite_an_event()
    with session_scope(settings.database_url) as session:
        assert set(session.scalars(select(Event.kind))) == {"created"}


def test_migrations_match_the_models(settings: Settings) -> None:
    # Raises if the models hold anything the migrations do not create.
    command.check(alembic_config(settings.database_url))


def test_unreachable_mail_backend_is_temporary(settings: Settings, case_dir: Path) -> None:
    round_id = start(settings, case_dir / "arende.yaml")
    dispatch_id = rounds_start.pending_sends(settings, round_id)[0]

    class Unreachable(RecordingOutbox):
        def send(self, message: object) -> str:
            raise TemporaryMailError("anslutningen bröts")

    unreachable = Unreachable(settings)
    outcome = send_missiv(dispatch_id, settings=settings, mailer=unreachable, now=utcnow())
    assert (outcome.result, outcome.detail) == ("unsent", "anslutningen bröts")
    assert rounds_start.pending_sends(settings, round_id)[0] == dispatch_id


def test_every_copy_of_a_missiv_carries_the_same_working_link(
    settings: Settings, case_dir: Path
) -> None:
    """A sender whose claim was taken over may still get its copy out (issue 23): the link
    is fixed when the missiv is first composed, so both copies open the answer page."""
    round_id = start(settings, case_dir / "arende.yaml")
    dispatch_id = rounds_start.pending_sends(settings, round_id)[0]

    def compose() -> str:
        with session_scope(settings.database_url) as session:
            message = session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.dispatch_id == dispatch_id)
            ).one()
            composed = build_message(session, message=message, settings=settings)
            return link_in(composed.to_mime()).rsplit("/", 1)[1]

    first, second = compose(), compose()
    assert first == second
    with session_scope(settings.database_url) as session:
        found = answers.find_by_token(session, token=first, now=NOW, valid_days_after_close=30)
        assert found is not None
        assert found.id == dispatch_id
