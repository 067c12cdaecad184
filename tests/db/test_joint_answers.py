"""Joint answers: a partner named in another's answer counts as answered only once it has
confirmed; until then its reminders go on (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from remiss.answers import joint
from remiss.answers import service as answers
from remiss.audit.log import entries_for_round
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import EventKind, JointState, MessageKind
from remiss.db.engine import session_scope
from remiss.db.models import Event, JointAnswer, OutgoingMessage, Round
from remiss.outbox.compose import build_message, dispatch_link
from remiss.outbox.sending import send_missiv
from remiss.reminders import schedule
from remiss.reminders import sweep as reminding
from remiss.report.content import build_report
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory
from tests.support.mailers import RecordingOutbox
from tests.support.rounds import answer_with_files, dispatch_of

TZ = "Europe/Stockholm"
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.date(2026, 12, 18)
CODES = ["exploateringsnamnden", "fastighetsnamnden", "socialnamnden", "servicenamnden"]
# The first working day after the deadline: the "svaret har inte kommit in" reminder is due.
LATE = dt.datetime(2026, 12, 21, 9, 0, tzinfo=dt.UTC)


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00+01:00").astimezone(dt.UTC)


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str, case_dir: Path) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=T0)
    rid = rounds_start.prepare_round(
        s, case_dir / "arende.yaml", now=T0, to=CODES, deadline=DEADLINE.isoformat()
    )
    mailer = RecordingOutbox(s)
    for dispatch_id in rounds_start.pending_sends(s, rid):
        send_missiv(dispatch_id, settings=s, mailer=mailer, now=T0)
    return s


def claim_for(settings: Settings, joint_with: list[str], when: str = "2026-12-10") -> int:
    return answer_with_files(
        settings,
        "exploateringsnamnden",
        at(when),
        answers.AnswerForm(
            position="avstyrker", summary="Förslaget är inte genomförbart.", joint_with=joint_with
        ),
    )


def decide(settings: Settings, code: str, answer_id: int, *, confirm: bool, when: str) -> bool:
    with session_scope(settings.database_url) as session:
        return joint.decide_by_partner(
            session,
            partner=dispatch_of(session, code),
            answer_id=answer_id,
            confirm=confirm,
            now=at(when),
            tz=TZ,
        )


def reminder_due(settings: Settings, code: str) -> bool:
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, code)
        # The sweep reads the same facts as rows: a confirmed joint answer counts there too.
        rows = schedule.rule_inputs(session, dispatch_ids=[partner.id])
        assert rows[partner.id].facts == schedule.facts(partner)
        return reminding.plan(session, dispatch_id=partner.id, now=LATE, tz=TZ) is not None


def test_naming_a_partner_stores_a_claim_an_event_and_an_email_with_its_own_link(
    settings: Settings,
) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, "fastighetsnamnden")
        (row,) = session.scalars(select(JointAnswer)).all()
        assert (row.answer_id, row.partner_dispatch_id, row.state) == (
            answer_id,
            partner.id,
            JointState.CLAIMED,
        )
        claimed = [e for e in partner.events if e.kind == EventKind.JOINT_CLAIMED]
        assert [e.detail["claimant"] for e in claimed] == ["exploateringsnamnden"]
        (message,) = session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.kind == MessageKind.GEMENSAMT_SVAR)
        ).all()
        assert message.dispatch_id == partner.id
        assert joint.request_messages(session, answer_id=answer_id) == [message.id]
        mail = build_message(session, message=message, settings=settings)
        assert mail.to == (partner.email,)
        assert "Exploateringsnämnden" in mail.subject
        assert dispatch_link(partner, settings) in mail.text
        assert dispatch_link(partner, settings) in mail.html
        claimant_link = dispatch_link(dispatch_of(session, "exploateringsnamnden"), settings)
        assert claimant_link not in mail.text, "the partner gets its own link, not the claimant's"
        assert "Förslaget är inte genomförbart." in mail.text
        assert "påminnelserna fortsätter" in mail.text


def test_reminders_go_on_until_the_partner_confirms(settings: Settings) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, "fastighetsnamnden")
        assert not schedule.is_done(partner)
        assert partner.next_reminder_at is not None
    assert reminder_due(settings, "fastighetsnamnden")

    assert decide(settings, "fastighetsnamnden", answer_id, confirm=True, when="2026-12-11")
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, "fastighetsnamnden")
        assert schedule.is_done(partner)
        assert partner.next_reminder_at is None
        (event,) = [e for e in partner.events if e.kind == EventKind.JOINT_CONFIRMED]
        assert event.at == at("2026-12-11")
        assert event.detail["by"] == "Fastighetsnämnden"
        assert event.detail["via"] == joint.VIA_LINK
    assert not reminder_due(settings, "fastighetsnamnden")
    # A double submit changes nothing and logs nothing more.
    assert not decide(settings, "fastighetsnamnden", answer_id, confirm=True, when="2026-12-12")
    with session_scope(settings.database_url) as session:
        confirmed = session.scalars(
            select(Event).where(Event.kind == EventKind.JOINT_CONFIRMED)
        ).all()
        assert len(confirmed) == 1


def test_a_partner_that_rejects_keeps_getting_reminders_and_cannot_change_its_mind(
    settings: Settings,
) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    assert decide(settings, "fastighetsnamnden", answer_id, confirm=False, when="2026-12-11")
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, "fastighetsnamnden")
        assert not schedule.is_done(partner)
        assert partner.next_reminder_at is not None
        assert [e.kind for e in partner.events if e.kind == EventKind.JOINT_REJECTED] == [
            EventKind.JOINT_REJECTED
        ]
    assert reminder_due(settings, "fastighetsnamnden")
    with pytest.raises(InputError, match="redan lämnat besked"):
        decide(settings, "fastighetsnamnden", answer_id, confirm=True, when="2026-12-12")


def test_the_report_counts_a_joint_answer_for_the_partner_only_once_confirmed(
    settings: Settings,
) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    with session_scope(settings.database_url) as session:
        report = build_report(session.get_one(Round, 1), now=at("2026-12-12"), tz=TZ)
        assert report.counts["answered"] == 1
        assert "Fastighetsnämnden" in report.silent
        rows = {r.name: r for r in report.rows}
        assert "angiven i gemensamt svar med exploateringsnämnden, ej bekräftat" in (
            rows["Fastighetsnämnden"].remarks
        )
        assert (
            "Exploateringsnämnden har angett att svaret är gemensamt med fastighetsnämnden, men "
            "fastighetsnämnden har inte bekräftat det." in " ".join(report.beredning)
        )
        (section,) = report.sections
        assert section.joint_with == ()

    decide(settings, "fastighetsnamnden", answer_id, confirm=True, when="2026-12-13")
    with session_scope(settings.database_url) as session:
        report = build_report(session.get_one(Round, 1), now=at("2026-12-14"), tz=TZ)
        assert report.counts["answered"] == 2
        assert "Fastighetsnämnden" not in report.silent
        rows = {r.name: r for r in report.rows}
        assert "gemensamt svar med exploateringsnämnden" in rows["Fastighetsnämnden"].remarks
        assert (
            "Exploateringsnämnden och fastighetsnämnden har lämnat ett gemensamt svar."
            in " ".join(report.beredning)
        )


def test_a_new_version_keeps_standing_asks_new_partners_and_drops_the_unnamed(
    settings: Settings,
) -> None:
    first = claim_for(settings, ["fastighetsnamnden"])
    decide(settings, "fastighetsnamnden", first, confirm=True, when="2026-12-11")
    second = claim_for(settings, ["fastighetsnamnden", "socialnamnden"], when="2026-12-12")
    with session_scope(settings.database_url) as session:
        rows = {
            j.partner.remissinstans.code: j
            for j in session.scalars(select(JointAnswer).where(JointAnswer.answer_id == second))
        }
        assert rows["fastighetsnamnden"].state == JointState.CONFIRMED, "kept, not asked again"
        assert rows["socialnamnden"].state == JointState.CLAIMED
        asked = session.scalars(
            select(OutgoingMessage.dispatch_id).where(
                OutgoingMessage.kind == MessageKind.GEMENSAMT_SVAR
            )
        ).all()
        assert sorted(asked) == sorted(
            [dispatch_of(session, "fastighetsnamnden").id, dispatch_of(session, "socialnamnden").id]
        ), "one e-mail per claim: the kept partner got none for the new version"
        assert schedule.jointly_answered(session, round_id=1) == {"fastighetsnamnden"}

    claim_for(settings, ["socialnamnden"], when="2026-12-13")
    with session_scope(settings.database_url) as session:
        assert schedule.jointly_answered(session, round_id=1) == set()
        dropped = dispatch_of(session, "fastighetsnamnden")
        assert not schedule.is_done(dropped)
        assert dropped.next_reminder_at == at("2026-12-13"), "the sweep looks at it again"
        # Its earlier confirmation stays on record with the version it was given to.
        assert session.scalars(
            select(JointAnswer.state).where(JointAnswer.answer_id == first)
        ).all() == [JointState.CONFIRMED]
    with pytest.raises(InputError, match="ny version"):
        decide(settings, "fastighetsnamnden", second, confirm=False, when="2026-12-14")


def test_answers_stored_before_confirmation_count_as_claimed_and_are_adopted_once(
    settings: Settings,
) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    with session_scope(settings.database_url) as session:
        # As stored before this change: joint_with, no claim, no e-mail, and a partner the
        # old rule had counted as answered (the sweep had set it aside).
        session.execute(delete(OutgoingMessage).where(OutgoingMessage.kind == "gemensamt_svar"))
        session.execute(delete(JointAnswer))
        dispatch_of(session, "fastighetsnamnden").next_reminder_at = None
    with session_scope(settings.database_url) as session:
        (claim,) = schedule.joint_claims(session, round_id=1)
        assert (claim.state, claim.row_id) == (JointState.CLAIMED, None)
        assert not schedule.is_done(dispatch_of(session, "fastighetsnamnden"))

    with session_scope(settings.database_url) as session:
        queued = joint.adopt_unrecorded_claims(session, now=at("2026-12-14"))
    assert len(queued) == 1
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, "fastighetsnamnden")
        assert partner.next_reminder_at == at("2026-12-14")
        (row,) = session.scalars(select(JointAnswer)).all()
        assert (row.answer_id, row.state) == (answer_id, JointState.CLAIMED)
        (event,) = [e for e in partner.events if e.detail.get("stored_before_confirmation")]
        assert event.kind == EventKind.JOINT_CLAIMED
    with session_scope(settings.database_url) as session:
        assert joint.adopt_unrecorded_claims(session, now=at("2026-12-15")) == []


def test_a_claim_from_before_confirmation_can_be_confirmed_without_adoption(
    settings: Settings,
) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    with session_scope(settings.database_url) as session:
        session.execute(delete(JointAnswer))
    assert decide(settings, "fastighetsnamnden", answer_id, confirm=True, when="2026-12-11")
    with session_scope(settings.database_url) as session:
        assert schedule.jointly_answered(session, round_id=1) == {"fastighetsnamnden"}


def test_a_handlaggare_decides_in_the_audit_log_and_may_overrule(settings: Settings) -> None:
    answer_id = claim_for(settings, ["fastighetsnamnden"])
    decide(settings, "fastighetsnamnden", answer_id, confirm=False, when="2026-12-11")
    with session_scope(settings.database_url) as session:
        partner_id = dispatch_of(session, "fastighetsnamnden").id
        assert joint.decide_by_staff(
            session,
            round_id=1,
            answer_id=answer_id,
            partner_dispatch_id=partner_id,
            confirm=True,
            user="karin.lindqvist",
            now=at("2026-12-12"),
            tz=TZ,
        )
    with session_scope(settings.database_url) as session:
        (row,) = session.scalars(select(JointAnswer)).all()
        assert (row.state, row.decided_by) == (JointState.CONFIRMED, "karin.lindqvist")
        (entry,) = entries_for_round(session, round_id=1)
        assert (entry.action, entry.user_name) == ("joint_confirmed", "karin.lindqvist")
        assert entry.detail["partner"] == "fastighetsnamnden"
        assert entry.detail["previous"] == "rejected"
        assert schedule.is_done(dispatch_of(session, "fastighetsnamnden"))
        with pytest.raises(NotFoundError):
            joint.decide_by_staff(
                session,
                round_id=2,
                answer_id=answer_id,
                partner_dispatch_id=partner_id,
                confirm=False,
                user="karin.lindqvist",
                now=at("2026-12-12"),
                tz=TZ,
            )
        with pytest.raises(NotFoundError):
            joint.decide_by_staff(
                session,
                round_id=1,
                answer_id=answer_id,
                partner_dispatch_id=dispatch_of(session, "exploateringsnamnden").id,
                confirm=True,
                user="karin.lindqvist",
                now=at("2026-12-12"),
                tz=TZ,
            )
    claim_for(settings, [], when="2026-12-13")
    with session_scope(settings.database_url) as session, pytest.raises(ConflictError):
        joint.decide_by_staff(
            session,
            round_id=1,
            answer_id=answer_id,
            partner_dispatch_id=partner_id,
            confirm=False,
            user="karin.lindqvist",
            now=at("2026-12-14"),
            tz=TZ,
        )
