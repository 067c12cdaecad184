"""Changes to a running round (rounds/changes.py) on SQLite and PostgreSQL: a later deadline
for everyone, one more remissinstans, a corrected address; what each stores, queues and
refuses, and that the reminders follow."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from remiss.answers import anstand
from remiss.answers import service as answers
from remiss.core.errors import InputError
from remiss.core.settings import Settings
from remiss.core.states import DispatchState, EventKind, MessageKind, MessageState
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, Dispatch, Event, OutgoingMessage, Round
from remiss.outbox.sending import send_message, send_missiv
from remiss.reminders import policy
from remiss.reminders.schedule import facts, round_policy
from remiss.rounds import changes
from remiss.rounds import start as rounds_start
from tests.conftest import settings_in_environment
from tests.support.mailers import RecordingOutbox
from tests.support.rounds import dispatch_of

TZ = "Europe/Stockholm"
STOCKHOLM = ZoneInfo(TZ)
CODES = ["socialnamnden", "servicenamnden", "farsta"]
DEADLINE = dt.date(2026, 12, 18)  # a Friday


def local(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM).astimezone(dt.UTC)


T0 = local(dt.date(2026, 11, 23))  # a Monday: the round starts


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Settings:
    s = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    rounds_start.init(s, now=T0)
    return s


@pytest.fixture
def round_id(settings: Settings, case_dir: Path) -> int:
    rid = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=T0, to=CODES, deadline=DEADLINE.isoformat()
    )
    mailer = RecordingOutbox(settings)
    for dispatch_id in rounds_start.pending_sends(settings, rid):
        assert send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0).result == "sent"
    return rid


def actions(settings: Settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- Extending the deadline ----------------------------------------------------------------


def test_extending_moves_every_earlier_deadline_and_keeps_a_later_anstand(
    settings: Settings, round_id: int
) -> None:
    now = local(dt.date(2026, 12, 1))
    with session_scope(settings.database_url) as session:
        request = anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, "farsta"),
            new_date="2027-01-29",
            reason="Sammanträde i januari.",
            requested_by=None,
            now=now,
        )
        anstand.decide(session, anstand_id=request.id, grant=True, now=now, tz=TZ)
    with session_scope(settings.database_url) as session:
        done = changes.extend_deadline(
            session, round_id=round_id, new_date="2027-01-15", user="karin", now=now, tz=TZ
        )
        assert (done.previous, done.new) == (DEADLINE, dt.date(2027, 1, 15))
        assert len(done.moved) == 2
        assert len(done.kept) == 1
    with session_scope(settings.database_url) as session:
        assert session.get_one(Round, round_id).svar_senast == dt.date(2027, 1, 15)
        deadlines = {d.remissinstans.code: d.deadline for d in session.scalars(select(Dispatch))}
        assert deadlines == {
            "socialnamnden": dt.date(2027, 1, 15),
            "servicenamnden": dt.date(2027, 1, 15),
            "farsta": dt.date(2027, 1, 29),
        }
        events = session.scalars(
            select(Event).where(Event.kind == EventKind.DEADLINE_EXTENDED)
        ).all()
        assert len(events) == 2
        assert events[0].detail == {"from": "2026-12-18", "to": "2027-01-15"}
    assert actions(settings) == ["deadline_extended"]


def test_those_who_have_not_answered_are_told_the_new_deadline_by_e_mail_once(
    settings: Settings, round_id: int
) -> None:
    now = local(dt.date(2026, 12, 1))
    with session_scope(settings.database_url) as session:
        answers.decline(
            session, dispatch=dispatch_of(session, "farsta"), reason="Nej.", now=now, tz=TZ
        )
    with session_scope(settings.database_url) as session:
        done = changes.extend_deadline(
            session, round_id=round_id, new_date="2027-01-15", user="karin", now=now, tz=TZ
        )
        assert len(done.moved) == 3  # farsta's deadline moves too: it is the round's
        assert len(done.notices) == 2  # but farsta has declined: no e-mail
    mailer = RecordingOutbox(settings)
    for message_id in done.notices:
        assert send_message(message_id, settings=settings, mailer=mailer, now=now).result == "sent"
    mails = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(settings.outbox_dir.glob("*ny_svarstid*.eml"))
    ]
    assert sorted(str(m["To"]) for m in mails) == sorted(
        d.email for d in dispatches_of(settings, "socialnamnden", "servicenamnden")
    )
    for mail in mails:
        assert str(mail["Subject"]).startswith("Ny svarsdag 15 januari 2027: remiss KS 2025/348")
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "senast 15 januari 2027" in text
        assert "/r/" in text  # their own link, to answer
    # Extending again to the same day is refused; to a later day, a second notice each.
    with session_scope(settings.database_url) as session, pytest.raises(InputError):
        changes.extend_deadline(
            session, round_id=round_id, new_date="2027-01-15", user="karin", now=now, tz=TZ
        )
    with session_scope(settings.database_url) as session:
        again = changes.extend_deadline(
            session, round_id=round_id, new_date="2027-01-22", user="karin", now=now, tz=TZ
        )
        assert len(set(again.notices) | set(done.notices)) == 4
        kinds = session.scalars(
            select(OutgoingMessage.kind).where(OutgoingMessage.kind == MessageKind.NY_SVARSTID)
        ).all()
        assert len(kinds) == 4


def dispatches_of(settings: Settings, *codes: str) -> list[Dispatch]:
    with session_scope(settings.database_url) as session:
        found = [dispatch_of(session, code) for code in codes]
        session.expunge_all()
        return found


def test_after_an_extension_reminders_already_past_are_not_sent_late(
    settings: Settings, round_id: int
) -> None:
    # 2026-12-17: the day before the deadline, fore10 (2026-12-04) has gone by unsent.
    now = local(dt.date(2026, 12, 17))
    with session_scope(settings.database_url) as session:
        changes.extend_deadline(
            session, round_id=round_id, new_date="2026-12-30", user="karin", now=now, tz=TZ
        )
    with session_scope(settings.database_url) as session:
        dispatch = dispatch_of(session, "socialnamnden")
        rules = round_policy(dispatch.round)
        # The new deadline's fore10 lies before the extension: it is not due at all.
        assert policy.due_stage(facts(dispatch), rules, TZ, now + dt.timedelta(hours=1)) is None
        assert dispatch.next_reminder_at is not None
        assert dispatch.next_reminder_at > now
        later = dispatch.next_reminder_at
        due = policy.due_stage(facts(dispatch), rules, TZ, later)
        assert due is not None
        assert due.deadline == dt.date(2026, 12, 30)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "Ange ett datum."),
        ("2027-1-15", "ÅÅÅÅ-MM-DD"),
        ("2026-12-18", "senare än nuvarande svarsdag"),
        ("2026-12-26", "ingen arbetsdag"),
        ("2028-01-14", "Motionen väcktes"),
    ],
)
def test_a_bad_new_deadline_changes_nothing(
    settings: Settings, round_id: int, value: str, fragment: str
) -> None:
    with (
        pytest.raises(InputError, match=fragment) as refused,
        session_scope(settings.database_url) as session,
    ):
        changes.extend_deadline(
            session, round_id=round_id, new_date=value, user="karin", now=T0, tz=TZ
        )
    assert refused.value.field == changes.NEW_DEADLINE
    with session_scope(settings.database_url) as session:
        assert session.get_one(Round, round_id).svar_senast == DEADLINE
    assert actions(settings) == []


# --- Adding a remissinstans ----------------------------------------------------------------


def test_an_added_remissinstans_gets_a_dispatch_and_a_missiv_once(
    settings: Settings, round_id: int
) -> None:
    with session_scope(settings.database_url) as session:
        added = changes.add_recipient(
            session,
            round_id=round_id,
            code="kulturnamnden",
            deadline="2027-01-08",
            user="karin",
            now=T0,
            tz=TZ,
        )
        assert added.created
    with session_scope(settings.database_url) as session:
        again = changes.add_recipient(
            session,
            round_id=round_id,
            code="kulturnamnden",
            deadline=None,
            user="karin",
            now=T0,
            tz=TZ,
        )
        assert not again.created
    with session_scope(settings.database_url) as session:
        dispatch = dispatch_of(session, "kulturnamnden")
        assert (dispatch.deadline, dispatch.state) == (dt.date(2027, 1, 8), DispatchState.PENDING)
        assert [(m.kind, m.stage) for m in dispatch.messages] == [(MessageKind.MISSIV, 0)]
        assert [e.kind for e in dispatch.events] == [EventKind.CREATED, EventKind.ADDED_TO_ROUND]
        queued = dispatch.messages[0].id
    assert rounds_start.pending_missiv(settings, round_id) == [queued]
    assert actions(settings) == ["recipient_added"]


def test_an_outside_organisation_is_added_without_touching_the_register(
    settings: Settings, round_id: int
) -> None:
    with session_scope(settings.database_url) as session:
        added = changes.add_outside_organisation(
            session,
            round_id=round_id,
            name="  Svenska   Musikerförbundet ",
            email="kansli@musikerforbundet.example",
            kind="extern",
            deadline="",
            user="karin",
            now=T0,
            tz=TZ,
        )
        assert added.dispatch.name == "Svenska Musikerförbundet"
        assert added.dispatch.remissinstans.ad_hoc
        assert added.dispatch.deadline == DEADLINE
        addable = {row.code for row in changes.addable_instances(session, round_id=round_id)}
        assert added.dispatch.remissinstans.code not in addable
        assert "kulturnamnden" in addable


def test_a_remissinstans_already_in_the_round_is_refused(settings: Settings, round_id: int) -> None:
    with (
        pytest.raises(InputError, match="har redan fått remissen") as refused,
        session_scope(settings.database_url) as session,
    ):
        changes.add_recipient(
            session, round_id=round_id, code="farsta", deadline=None, user="karin", now=T0, tz=TZ
        )
    assert refused.value.field == changes.RECIPIENT


# --- Correcting an address -----------------------------------------------------------------


def bounce(settings: Settings, code: str) -> int:
    at = local(dt.date(2026, 11, 23), 10)
    with session_scope(settings.database_url) as session:
        dispatch = dispatch_of(session, code)
        dispatch.bounced_at, dispatch.bounce_reason = at, "550 okänd mottagare"
        session.add(
            Event(dispatch_id=dispatch.id, at=at, kind=EventKind.BOUNCED, detail={"reason": "x"})
        )
        return dispatch.id


def test_a_corrected_address_queues_one_new_missiv_to_it(settings: Settings, round_id: int) -> None:
    dispatch_id = bounce(settings, "farsta")
    now = local(dt.date(2026, 11, 24))
    for _ in range(2):
        with session_scope(settings.database_url) as session:
            changes.correct_address(
                session,
                round_id=round_id,
                dispatch_id=dispatch_id,
                email="Registrator@Farsta.example",
                user="karin",
                now=now,
            )
    with session_scope(settings.database_url) as session:
        dispatch = session.get_one(Dispatch, dispatch_id)
        assert dispatch.email == "Registrator@farsta.example"
        assert dispatch.bounced_at is None
        assert dispatch.state == DispatchState.PENDING
        missivs = [
            (m.stage, m.state, m.idempotency_key.rsplit("/", 1)[1])
            for m in session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.dispatch_id == dispatch_id)
                .order_by(OutgoingMessage.id)
            )
        ]
        assert missivs == [(0, MessageState.SENT, "0"), (1, MessageState.PENDING, "1")]
        kinds = [e.kind for e in dispatch.events]
        assert kinds.count(EventKind.ADDRESS_CORRECTED) == 1
        assert EventKind.BOUNCED in kinds
    assert actions(settings) == ["address_corrected"]
    # Sent once more to the new address: the dispatch is followed again from there.
    outcome = send_missiv_stage(settings, dispatch_id, stage=1)
    assert outcome == "sent"
    with session_scope(settings.database_url) as session:
        assert session.get_one(Dispatch, dispatch_id).state == DispatchState.SENT


def send_missiv_stage(settings: Settings, dispatch_id: int, *, stage: int) -> str:
    from remiss.outbox.sending import send_message

    with session_scope(settings.database_url) as session:
        message_id = session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.dispatch_id == dispatch_id, OutgoingMessage.stage == stage
            )
        ).one()
    mailer = RecordingOutbox(settings)
    result: str = send_message(
        message_id, settings=settings, mailer=mailer, now=local(dt.date(2026, 11, 24), 10)
    ).result
    return result


def test_an_address_is_corrected_only_when_the_remiss_did_not_arrive(
    settings: Settings, round_id: int
) -> None:
    with session_scope(settings.database_url) as session:
        dispatch_id = dispatch_of(session, "farsta").id
    with (
        pytest.raises(InputError, match="har inte studsat") as refused,
        session_scope(settings.database_url) as session,
    ):
        changes.correct_address(
            session,
            round_id=round_id,
            dispatch_id=dispatch_id,
            email="ny@farsta.example",
            user="karin",
            now=T0,
        )
    assert refused.value.field == changes.NEW_EMAIL
    assert actions(settings) == []
