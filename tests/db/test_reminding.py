"""The reminder sweep on SQLite and PostgreSQL, over simulated weeks of a round.

The sweep is the flow's task body (`queue_due_reminders.fn`, no Prefect) followed by one
`send_message` per claimed message, run at 08:00 Stockholm time on simulated dates.
"""

from __future__ import annotations

import datetime as dt
import email
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from flows.reminders import queue_due_reminders
from remiss.answers import anstand, review
from remiss.answers import service as answers
from remiss.core.dates import is_working_day
from remiss.core.settings import Settings
from remiss.core.states import PAMINNELSE_PREFIX
from remiss.core.terms import NOT_REVIEWED
from remiss.db.engine import get_engine, session_scope
from remiss.db.models import Dispatch, Event, OutgoingMessage, RemissinstansRow
from remiss.mail.outbox import filename_for
from remiss.outbox.outcomes import SendOutcome
from remiss.outbox.sending import send_message, send_missiv
from remiss.reminders import sweep as reminding
from remiss.reminders.schedule import RuleInput, facts, round_policy, rule_inputs
from remiss.rounds import start as rounds_start
from tests.conftest import settings_in_environment
from tests.support.mailers import RecordingOutbox, send_calls

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HANDLAGGARE = "karin.lindqvist@stockholm.example"
FORVALTNINGSCHEF = "forvaltningschef.socialforvaltningen@stockholm.example"

SOCIAL = "socialnamnden"  # silent, never opens the link; has a förvaltningschef
SERVICE = "servicenamnden"  # confirms receipt, then stays silent
ARBETSMARKNAD = "arbetsmarknadsnamnden"  # answers before the deadline
KULTUR = "kulturnamnden"  # declines
FASTIGHET = "fastighetsnamnden"  # anstånd, then answers after its first late reminder
CODES = [SOCIAL, SERVICE, ARBETSMARKNAD, KULTUR, FASTIGHET]

DEADLINE = dt.date(2026, 12, 18)  # a Friday, a week before julafton
NEW_DEADLINE = dt.date(2027, 1, 15)  # the anstånd


def local(day: dt.date, hour: int = 8, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM).astimezone(
        dt.UTC
    )


T0 = local(dt.date(2026, 11, 23), 9, 0)  # a Monday: the round starts and the missiv goes out


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- Fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Settings:
    s = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    rounds_start.init(s, now=T0)
    return s


@pytest.fixture
def mailer(settings: Settings) -> RecordingOutbox:
    return RecordingOutbox(settings)


def start_round(settings: Settings, case_dir: Path, mailer: RecordingOutbox) -> int:
    round_id = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=T0, to=CODES, deadline=DEADLINE.isoformat()
    )
    for dispatch_id in rounds_start.pending_sends(settings, round_id):
        outcome = send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0)
        assert outcome.result == "sent"
    with session_scope(settings.database_url) as session:
        for dispatch in session.scalars(select(Dispatch).where(Dispatch.round_id == round_id)):
            assert dispatch.sent_at == T0, "the schedule counts from the simulated send"
            assert dispatch.next_reminder_at == local(d("2026-12-04")), "fore10 is next"
    return round_id


def sweep(settings: Settings, mailer: RecordingOutbox, as_of: dt.datetime) -> list[SendOutcome]:
    """One run of the reminder flow's work at `as_of`: claim what is due, send each."""
    message_ids: list[int] = queue_due_reminders.fn(as_of)
    return [
        send_message(message_id, settings=settings, mailer=mailer, now=as_of)
        for message_id in message_ids
    ]


def dispatch_of(session: Session, round_id: int, code: str) -> Dispatch:
    return session.scalars(
        select(Dispatch)
        .join(RemissinstansRow)
        .where(Dispatch.round_id == round_id, RemissinstansRow.code == code)
    ).one()


@dataclass(frozen=True, order=True)
class Reminder:
    code: str
    stage: str  # fore10, sen1, eskalering5
    deadline: dt.date
    sent_on: dt.date  # local date


def reminders_sent(settings: Settings) -> list[Reminder]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(OutgoingMessage, RemissinstansRow.code)
            .join(Dispatch, OutgoingMessage.dispatch_id == Dispatch.id)
            .join(RemissinstansRow)
            .where(OutgoingMessage.kind.startswith(PAMINNELSE_PREFIX))
        ).all()
        result = []
        for message, code in rows:
            if message.state == "cancelled":
                continue  # claimed, then no longer right to send (answered, new deadline)
            assert message.state == "sent", f"{message.idempotency_key} is {message.state}"
            assert message.sent_at is not None
            sent = message.sent_at.astimezone(STOCKHOLM)
            assert (sent.hour, sent.minute) == (8, 0), "at the policy hour, local time"
            result.append(
                Reminder(
                    code,
                    message.kind.removeprefix(PAMINNELSE_PREFIX),
                    dt.date.fromisoformat(str(message.stage)),
                    sent.date(),
                )
            )
        return sorted(result)


def reminder_email(settings: Settings, code: str, stage: str) -> EmailMessage:
    with session_scope(settings.database_url) as session:
        key = session.scalars(
            select(OutgoingMessage.idempotency_key)
            .join(Dispatch, OutgoingMessage.dispatch_id == Dispatch.id)
            .join(RemissinstansRow)
            .where(
                RemissinstansRow.code == code,
                OutgoingMessage.kind == PAMINNELSE_PREFIX + stage,
                OutgoingMessage.state == "sent",
            )
        ).one()
    path = settings.outbox_dir / filename_for(key)
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def addresses(msg: EmailMessage, header: str) -> set[str]:
    value = msg.get(header)
    return {a.strip() for a in str(value).split(",")} if value else set()


def check_sent_once(settings: Settings) -> None:
    calls = send_calls(settings.outbox_dir)
    assert calls, "something was sent"
    duplicates = {k: n for k, n in calls.items() if n != 1}
    assert not duplicates, f"sent more than once: {duplicates}"


def answer(settings: Settings, round_id: int, code: str, now: dt.datetime) -> None:
    with session_scope(settings.database_url) as session:
        dispatch = dispatch_of(session, round_id, code)
        form = answers.AnswerForm(position="tillstyrker", summary="Vi tillstyrker motionen.")
        values = answers.check_answer(dispatch, form, now=now, tz=settings.timezone)
        answers.submit_answer(
            session,
            dispatch=dispatch,
            values=values,
            files=[],
            store=settings.documents_dir,
            now=now,
        )


def check_rows_agree_with_objects(settings: Settings, round_id: int) -> None:
    """The sweep's facts read as rows for many dispatches are those the rules get from one
    loaded dispatch (answered, declined, anstånd, reminders sent: whatever the round holds)."""
    with session_scope(settings.database_url) as session:
        dispatches = list(session.scalars(select(Dispatch).where(Dispatch.round_id == round_id)))
        rows = rule_inputs(session, dispatch_ids=[x.id for x in dispatches])
        for dispatch in dispatches:
            assert rows[dispatch.id].facts == facts(dispatch), dispatch.remissinstans.code
            assert rows[dispatch.id].policy == round_policy(dispatch.round)


def sweep_days(first: dt.date, last: dt.date) -> Iterator[dt.datetime]:
    day = first
    while day <= last:
        yield local(day)
        day += dt.timedelta(days=1)


# --- A simulated month (and a half) of a round ---------------------------------------------

EXPECTED = sorted(
    [
        # Silent, never opened the link: the whole schedule, escalation to förvaltningschefen.
        Reminder(SOCIAL, "fore10", DEADLINE, d("2026-12-04")),
        Reminder(SOCIAL, "fore2", DEADLINE, d("2026-12-16")),
        Reminder(SOCIAL, "sen1", DEADLINE, d("2026-12-21")),
        # 5 working days after Friday 18 Dec: 21, 22, 23, (julafton to Sunday) 28, 29.
        Reminder(SOCIAL, "eskalering5", DEADLINE, d("2026-12-29")),
        # Confirmed receipt, then silent: the same schedule.
        Reminder(SERVICE, "fore10", DEADLINE, d("2026-12-04")),
        Reminder(SERVICE, "fore2", DEADLINE, d("2026-12-16")),
        Reminder(SERVICE, "sen1", DEADLINE, d("2026-12-21")),
        Reminder(SERVICE, "eskalering5", DEADLINE, d("2026-12-29")),
        # Answered on 8 December, declined on 15 December: nothing after that.
        Reminder(ARBETSMARKNAD, "fore10", DEADLINE, d("2026-12-04")),
        Reminder(KULTUR, "fore10", DEADLINE, d("2026-12-04")),
        # Anstånd granted on 11 December to 15 January: the schedule of the new deadline
        # (fore10 counts back over nyårsdagen, nyårsafton and trettondedagen), then it
        # answers on 19 January, before its escalation on the 22nd.
        Reminder(FASTIGHET, "fore10", DEADLINE, d("2026-12-04")),
        Reminder(FASTIGHET, "fore10", NEW_DEADLINE, d("2026-12-29")),
        Reminder(FASTIGHET, "fore2", NEW_DEADLINE, d("2027-01-13")),
        Reminder(FASTIGHET, "sen1", NEW_DEADLINE, d("2027-01-18")),
    ]
)


def test_a_simulated_round_gets_exactly_the_reminders_of_the_policy(
    settings: Settings, case_dir: Path, mailer: RecordingOutbox
) -> None:
    round_id = start_round(settings, case_dir, mailer)
    tz = settings.timezone
    done_at: dict[str, dt.datetime] = {}

    def on_day(day: dt.date) -> None:
        """What the remissinstanser do that day, after the morning sweep."""
        now = local(day, 10, 0)
        with session_scope(settings.database_url) as session:
            if day == d("2026-12-01"):
                answers.confirm_receipt(
                    session,
                    dispatch=dispatch_of(session, round_id, SERVICE),
                    their_diarienummer="SN 2026/77",
                    contact_name="Anna Berg",
                    contact_email="anna.berg@stockholm.example",
                    now=now,
                )
            if day == d("2026-12-10"):
                anstand.request_anstand(
                    session,
                    dispatch=dispatch_of(session, round_id, FASTIGHET),
                    new_date=NEW_DEADLINE.isoformat(),
                    reason="Nämnden sammanträder först i januari.",
                    requested_by="sekreterare.fastighet@stockholm.example",
                    now=now,
                )
            if day == d("2026-12-15"):
                answers.decline(
                    session,
                    dispatch=dispatch_of(session, round_id, KULTUR),
                    reason="Ärendet berör inte nämnden.",
                    now=now,
                    tz=tz,
                )
                done_at[KULTUR] = now
        if day == d("2026-12-08"):
            answer(settings, round_id, ARBETSMARKNAD, now)
            done_at[ARBETSMARKNAD] = now
        if day == d("2027-01-19"):
            answer(settings, round_id, FASTIGHET, now)
            done_at[FASTIGHET] = now
        if day == d("2026-12-11"):
            with session_scope(settings.database_url) as session:
                (pending,) = anstand.pending(session, round_id=round_id)
                decision = anstand.decide(
                    session, anstand_id=pending.id, grant=True, now=now, tz=tz
                )
                decision_id = decision.id
                moved = dispatch_of(session, round_id, FASTIGHET)
                assert moved.deadline == NEW_DEADLINE
                assert moved.next_reminder_at == local(d("2026-12-29")), "new schedule"
            outcome = send_message(decision_id, settings=settings, mailer=mailer, now=now)
            assert outcome.result == "sent"

    outcomes: dict[dt.date, list[SendOutcome]] = {}
    for as_of in sweep_days(d("2026-11-24"), d("2027-01-31")):
        day = as_of.astimezone(STOCKHOLM).date()
        outcomes[day] = sweep(settings, mailer, as_of)
        on_day(day)
        check_rows_agree_with_objects(settings, round_id)

    for day, sent in outcomes.items():
        assert all(o.result == "sent" for o in sent), (day, sent)
        if not is_working_day(day):
            assert not sent, f"nothing is sent on {day}, a day off"

    assert reminders_sent(settings) == EXPECTED
    check_sent_once(settings)

    # Nothing went to the answered or declined ones after they were done.
    for r in reminders_sent(settings):
        if r.code in done_at:
            assert local(r.sent_on) < done_at[r.code]

    # Each reminder is in its dispatch's event log, and nothing is left to look at.
    with session_scope(settings.database_url) as session:
        queued = session.scalars(select(Event).where(Event.kind == "reminder_queued")).all()
        assert len(queued) == len(EXPECTED)
        assert all(e.detail["stage"] and e.detail["deadline"] for e in queued)
        for code in CODES:
            assert dispatch_of(session, round_id, code).next_reminder_at is None, code

    # The escalation goes to the register's förvaltningschef, with the handläggare in copy.
    escalation = reminder_email(settings, SOCIAL, "eskalering5")
    assert addresses(escalation, "To") == {FORVALTNINGSCHEF}
    assert addresses(escalation, "Cc") == {
        "registrator.socialforvaltningen@stockholm.example",
        HANDLAGGARE,
    }
    assert "Förvaltningschef, socialförvaltningen" in text_of(escalation)
    # Without an escalation contact it goes to the remissinstans itself, handläggare in copy.
    fallback = reminder_email(settings, SERVICE, "eskalering5")
    assert addresses(fallback, "To") == {"registrator.serviceforvaltningen@stockholm.example"}
    assert addresses(fallback, "Cc") == {HANDLAGGARE}
    # Ordinary reminders go to the remissinstans, with its confirmed contact in copy.
    before = reminder_email(settings, SERVICE, "fore2")
    assert addresses(before, "Cc") == {"anna.berg@stockholm.example"}
    assert addresses(reminder_email(settings, SOCIAL, "fore2"), "Cc") == set()

    # Confirmed receipt and never opened get different texts.
    confirmed = text_of(before)
    unopened = text_of(reminder_email(settings, SOCIAL, "fore2"))
    assert "Ni bekräftade mottagandet" in confirmed
    assert "SN 2026/77" in confirmed
    assert "Vi kan inte se att länken till remissen har öppnats" in unopened
    assert "Ni bekräftade mottagandet" not in unopened
    assert "https://remiss.stockholm.example/r/" in unopened
    assert "18 december 2026" in unopened

    # The anstånd one is reminded of its new deadline.
    late = text_of(reminder_email(settings, FASTIGHET, "sen1"))
    assert "15 januari 2027" in late
    assert "18 december 2026" not in late


# --- Races, crashes and the indexed query ---------------------------------------------------

STAGE_DAYS = [d("2026-12-04"), d("2026-12-16"), d("2026-12-21"), d("2026-12-29")]


def test_two_sweeps_at_the_same_instant_send_every_stage_once(
    settings: Settings, case_dir: Path, mailer: RecordingOutbox
) -> None:
    start_round(settings, case_dir, mailer)
    errors: list[BaseException] = []
    results: list[str] = []

    def worker(barrier: threading.Barrier, as_of: dt.datetime) -> None:
        try:
            barrier.wait()
            results.extend(o.result for o in sweep(settings, mailer, as_of))
        except BaseException as exc:
            errors.append(exc)

    for day in STAGE_DAYS:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=worker, args=(barrier, local(day))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    check_sent_once(settings)  # holds even when a sweep failed
    assert not errors, errors
    # Each sweep counts what the other sent: no failure, and every reminder once as sent.
    assert set(results) <= {"sent", "already_sent", "by_other", "busy"}
    assert results.count("sent") == 4 * len(CODES)
    check_sent_once(settings)
    stages = ["fore10", "fore2", "sen1", "eskalering5"]
    assert reminders_sent(settings) == sorted(
        Reminder(code, stage, DEADLINE, day)
        for code in CODES
        for stage, day in zip(stages, STAGE_DAYS, strict=True)
    )


def test_a_sweep_that_stops_after_claiming_is_finished_by_the_next_one(
    settings: Settings, case_dir: Path, mailer: RecordingOutbox
) -> None:
    start_round(settings, case_dir, mailer)
    friday = local(d("2026-12-04"))
    claimed = queue_due_reminders.fn(friday)  # ... and the worker dies before sending
    assert len(claimed) == len(CODES)
    with session_scope(settings.database_url) as session:
        assert reminding.unsent_reminders(session, now=friday, tz=settings.timezone) == claimed
    # A second sweep at the same instant claims nothing new but returns the leftovers;
    # send one, then "crash" again.
    assert queue_due_reminders.fn(friday) == claimed
    first = send_message(claimed[0], settings=settings, mailer=mailer, now=friday)
    assert first.result == "sent"

    # The weekend's hand runs claim nothing new; Monday's sweep sends the rest, once.
    monday = local(d("2026-12-07"))
    outcomes = sweep(settings, mailer, monday)
    assert sorted(o.result for o in outcomes) == ["sent"] * (len(CODES) - 1)
    assert sweep(settings, mailer, monday) == []
    assert sweep(settings, mailer, local(d("2026-12-08"))) == []
    with session_scope(settings.database_url) as session:
        assert reminding.unsent_reminders(session, now=monday, tz=settings.timezone) == []
    check_sent_once(settings)
    sent = reminders_sent(settings)
    assert [r.stage for r in sent] == ["fore10"] * len(CODES)
    assert sorted(r.sent_on for r in sent) == [d("2026-12-04")] + [d("2026-12-07")] * 4


def test_a_leftover_reminder_is_not_sent_after_the_dispatch_answered(
    settings: Settings, case_dir: Path, mailer: RecordingOutbox
) -> None:
    round_id = start_round(settings, case_dir, mailer)
    queue_due_reminders.fn(local(d("2026-12-04")))  # claimed, never sent
    answer(settings, round_id, ARBETSMARKNAD, local(d("2026-12-04"), 10, 0))
    sweep(settings, mailer, local(d("2026-12-07")))
    assert ARBETSMARKNAD not in {r.code for r in reminders_sent(settings)}


def test_a_leftover_late_reminder_is_not_sent_after_an_anstand(
    settings: Settings, case_dir: Path, mailer: RecordingOutbox
) -> None:
    round_id = start_round(settings, case_dir, mailer)
    for day in STAGE_DAYS[:2]:
        sweep(settings, mailer, local(day))
    queue_due_reminders.fn(local(d("2026-12-21")))  # sen1 claimed for all, never sent
    now = local(d("2026-12-21"), 10, 0)
    with session_scope(settings.database_url) as session:
        request = anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, round_id, SOCIAL),
            new_date=NEW_DEADLINE.isoformat(),
            reason="Nämnden sammanträder i januari.",
            requested_by=None,
            now=now,
        )
        anstand.decide(session, anstand_id=request.id, grant=True, now=now, tz=settings.timezone)
    sweep(settings, mailer, local(d("2026-12-22")))
    late = [r for r in reminders_sent(settings) if r.code == SOCIAL and r.stage == "sen1"]
    assert late == [], "not late: the new deadline is 15 January"


def test_the_sweep_reads_only_due_dispatches(
    settings: Settings,
    case_dir: Path,
    mailer: RecordingOutbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    round_id = start_round(settings, case_dir, mailer)
    indexes = inspect(get_engine(settings.database_url)).get_indexes("utskick")
    assert any(ix["column_names"] == ["next_reminder_at"] for ix in indexes), indexes

    now = local(d("2026-12-10"))
    planned = {
        SOCIAL: now - dt.timedelta(days=3),
        SERVICE: now,
        ARBETSMARKNAD: now + dt.timedelta(seconds=1),
        KULTUR: None,
        FASTIGHET: now + dt.timedelta(days=5),
    }
    ids: dict[str, int] = {}
    with session_scope(settings.database_url) as session:
        for code, when in planned.items():
            dispatch = dispatch_of(session, round_id, code)
            ids[code] = dispatch.id
            session.execute(
                update(Dispatch).where(Dispatch.id == dispatch.id).values(next_reminder_at=when)
            )
    with session_scope(settings.database_url) as session:
        assert reminding.due_dispatch_ids(session, now=now) == [ids[SOCIAL], ids[SERVICE]]
        assert reminding.due_dispatch_ids(session, now=now - dt.timedelta(days=4)) == []

    looked_at: list[list[int]] = []
    real_rule_inputs = rule_inputs

    def spy(session: Session, *, dispatch_ids: Sequence[int]) -> dict[int, RuleInput]:
        looked_at.append(list(dispatch_ids))
        return real_rule_inputs(session, dispatch_ids=dispatch_ids)

    monkeypatch.setattr(reminding, "rule_inputs", spy)
    claimed = queue_due_reminders.fn(now)
    # Read once, in order: the leftovers are the reminders just claimed, not read again.
    assert looked_at == [[ids[SOCIAL], ids[SERVICE]]], "only the due dispatches are read"
    # Both are due for fore10 (missed on 4 December, sent now as the latest due stage) and
    # get their next time back: fore2 on 16 December.
    assert len(claimed) == 2
    with session_scope(settings.database_url) as session:
        for code in (SOCIAL, SERVICE):
            assert dispatch_of(session, round_id, code).next_reminder_at == local(d("2026-12-16"))


def email_answer(settings: Settings, round_id: int, code: str, now: dt.datetime) -> None:
    """An answer as the mailbox poll stores one: no position until a person has read it."""
    with session_scope(settings.database_url) as session:
        answers.submit_answer(
            session,
            dispatch=dispatch_of(session, round_id, code),
            values={
                "position": NOT_REVIEWED,
                "att_sats_positions": {},
                "contact_email": "registrator@stockholm.example",
                "needs_review": True,
            },
            files=[],
            store=settings.documents_dir,
            now=now,
            channel="email",
        )


def test_an_emailed_answer_keeps_the_reminders_going_until_it_is_reviewed(
    settings: Settings, case_dir: Path, mailer: RecordingOutbox
) -> None:
    round_id = start_round(settings, case_dir, mailer)
    # Two remissinstanser reply by e-mail before the first reminder; one is reviewed into
    # an answer, the other is judged not to be one (a registration receipt with a PDF).
    for code in (ARBETSMARKNAD, SERVICE):
        email_answer(settings, round_id, code, local(d("2026-12-01"), 10, 0))
    sweep(settings, mailer, local(d("2026-12-04")))
    assert {ARBETSMARKNAD, SERVICE} <= {r.code for r in reminders_sent(settings)}, (
        "an e-mail not yet reviewed is not an answer"
    )
    with session_scope(settings.database_url) as session:
        review.review_answer(
            session,
            dispatch=dispatch_of(session, round_id, ARBETSMARKNAD),
            position="tillstyrker",
            att_sats_positions={},
            summary=None,
            reviewer="karin",
            now=local(d("2026-12-08"), 9, 0),
        )
        rejected = dispatch_of(session, round_id, SERVICE)
        review.reject_answer(
            session, dispatch=rejected, reviewer="karin", now=local(d("2026-12-08"), 9, 0)
        )
        assert rejected.current_answer is None
        assert rejected.answers[0].rejected_by == "karin"
    sweep(settings, mailer, local(d("2026-12-16")))  # two working days before the deadline
    fore2 = {r.code for r in reminders_sent(settings) if r.stage == "fore2"}
    assert SERVICE in fore2, "a rejected e-mail is not an answer: the reminders go on"
    assert ARBETSMARKNAD not in fore2, "a reviewed answer stops the reminders"
    check_sent_once(settings)
