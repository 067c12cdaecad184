"""The decision on a case and the case's history, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from remiss.answers import service as answers
from remiss.audit.log import entries_for_round
from remiss.core.errors import ConflictError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import DispatchState, EventKind, MessageKind, MessageState
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, Decision, Document, Event, OutgoingMessage, Round
from remiss.rounds import start as rounds_start
from remiss.rounds.decision import DecisionForm, DecisionFormError, record_decision, send_decision
from remiss.rounds.service import close_round
from remiss.rounds.timeline import case_timeline, report_versions
from remiss.storage.uploads import UploadLimits, check_file
from tests.conftest import SettingsFactory
from tests.support.documents import pdf_bytes

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
TZ = "Europe/Stockholm"
TWO = ["socialnamnden", "kulturnamnden"]


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=NOW)
    return s


@pytest.fixture
def round_id(settings: Settings, case_dir: Path) -> int:
    return rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=NOW, to=TWO, deadline="2027-01-29"
    )


def _steps(
    settings: Settings, round_id: int, now: dt.datetime
) -> dict[str, tuple[str, str | None]]:
    with session_scope(settings.database_url) as session:
        gang = case_timeline(session, round_id=round_id, tz=TZ, now=now, data_dir=settings.data_dir)
        return {s.key: (s.when, s.detail) for s in gang.steps}


def test_a_new_round_shows_the_motion_vackt_and_the_rest_not_yet(
    settings: Settings, round_id: int
) -> None:
    steps = _steps(settings, round_id, NOW)
    assert steps["vackt"] == ("19 oktober 2026", None)
    assert steps["remiss"] == ("ännu inte", "till 0 av 2 remissinstanser")
    assert steps["svar"] == ("ännu inte", "0 av 2 har svarat eller avstått")
    for key in ("sammanstallning", "avslutad", "beslut", "skickat"):
        assert steps[key][0] == "ännu inte"


def test_the_history_fills_in_as_the_round_goes(settings: Settings, round_id: int) -> None:
    sent = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    with session_scope(settings.database_url) as session:
        for d in session.get_one(Round, round_id).dispatches:
            d.sent_at, d.state = sent, DispatchState.SENT
    with session_scope(settings.database_url) as session:
        first, second = session.get_one(Round, round_id).dispatches
        answers.decline(
            session, dispatch=first, reason=None, now=sent + dt.timedelta(days=3), tz=TZ
        )
        # 23.30 UTC is the next day in Stockholm.
        late = dt.datetime(2026, 12, 9, 23, 30, tzinfo=dt.UTC)
        answers.decline(session, dispatch=second, reason=None, now=late, tz=TZ)
    folder = settings.data_dir / "sammanstallningar" / f"ks-2025-348-omgang-{round_id}"
    (folder / "20261211-101500").mkdir(parents=True)
    (folder / "20261211-101500" / "remissammanstallning-ks-2025-348.pdf").write_bytes(b"%PDF")
    with session_scope(settings.database_url) as session:
        close_round(session, round_id=round_id, now=dt.datetime(2026, 12, 14, 9, tzinfo=dt.UTC))
    steps = _steps(settings, round_id, NOW)
    assert steps["remiss"] == ("24 november 2026", "till 2 av 2 remissinstanser")
    assert steps["svar"] == ("10 december 2026", "2 av 2 har svarat eller avstått")
    assert steps["sammanstallning"] == ("11 december 2026", None)
    assert steps["avslutad"] == ("14 december 2026", None)


def test_the_motion_limit_counts_the_days_left_and_says_when_it_has_passed(
    settings: Settings, round_id: int
) -> None:
    with session_scope(settings.database_url) as session:
        gang = case_timeline(session, round_id=round_id, tz=TZ, now=NOW)
        assert gang.motion is not None
        assert gang.motion.limit == dt.date(2027, 10, 19)
        assert gang.motion.days_left == 330
        assert "19 oktober 2027: 330 dagar kvar" in gang.motion.text
        after = dt.datetime(2027, 10, 21, 12, tzinfo=dt.UTC)
        passed = case_timeline(session, round_id=round_id, tz=TZ, now=after).motion
        assert passed is not None
        assert passed.passed
        assert "passerades för 2 dagar sedan" in passed.text


def test_report_versions_are_listed_newest_first_and_only_their_own_round(
    settings: Settings, round_id: int
) -> None:
    root = settings.data_dir / "sammanstallningar"
    for name, stamp in [
        (f"ks-2025-348-omgang-{round_id}", "20261201-080000"),
        (f"ks-2025-348-omgang-{round_id}", "20261203-080000"),
        (f"ks-2025-348-omgang-{round_id}1", "20261205-080000"),
        (f"ks-2025-348-omgang-{round_id}", "inte-en-tid"),
    ]:
        (root / name / stamp).mkdir(parents=True, exist_ok=True)
        (root / name / stamp / "remissammanstallning-ks-2025-348.html").write_text("<p>x</p>")
    versions = report_versions(settings.data_dir, round_id=round_id)
    assert [v.stamp for v in versions] == ["20261203-080000", "20261201-080000"]
    assert set(versions[0].files) == {"html"}


# --- The decision ---------------------------------------------------------------------------

DECIDED = dt.datetime(2027, 3, 11, 10, 0, tzinfo=dt.UTC)


def _form(**overrides: object) -> DecisionForm:
    values: dict[str, object] = {
        "organ": "KS",
        "beslutsdatum": "2027-03-10",
        "paragraf": "§8",
        "text": "Motionen anses besvarad.",
        "protokollsutdrag": check_file("Protokollsutdrag KS § 8.pdf", pdf_bytes(), UploadLimits()),
    }
    values.update(overrides)
    return DecisionForm(**values)  # type: ignore[arg-type]


def _close(settings: Settings, round_id: int) -> None:
    with session_scope(settings.database_url) as session:
        close_round(session, round_id=round_id, now=dt.datetime(2027, 2, 3, 9, tzinfo=dt.UTC))


def _record(settings: Settings, round_id: int, form: DecisionForm) -> int:
    with session_scope(settings.database_url) as session:
        return record_decision(
            session,
            round_id=round_id,
            form=form,
            user="karin",
            now=DECIDED,
            tz=TZ,
            store=settings.documents_dir,
        ).id


def _counts(settings: Settings) -> tuple[int, int, int]:
    with session_scope(settings.database_url) as session:
        return (
            session.scalar(select(func.count()).select_from(Decision)) or 0,
            session.scalar(
                select(func.count()).select_from(Document).where(Document.decision_id.is_not(None))
            )
            or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def test_a_decision_is_stored_with_its_protokollsutdrag_and_audited(
    settings: Settings, round_id: int
) -> None:
    _close(settings, round_id)
    decision_id = _record(settings, round_id, _form())
    with session_scope(settings.database_url) as session:
        decision = session.get_one(Decision, decision_id)
        assert (decision.organ, decision.beslutsdatum, decision.paragraf) == (
            "KS",
            dt.date(2027, 3, 10),
            "§ 8",
        )
        assert decision.text == "Motionen anses besvarad."
        assert decision.recorded_by == "karin"
        [doc] = decision.documents
        assert doc.filename == "Protokollsutdrag KS § 8.pdf"
        assert (settings.documents_dir / doc.storage_path).read_bytes() == pdf_bytes()
        [entry] = entries_for_round(session, round_id=round_id)
        assert (entry.action, entry.user_name, entry.detail["decision_id"]) == (
            "decision_recorded",
            "karin",
            decision_id,
        )
    steps = _steps(settings, round_id, DECIDED)
    assert steps["beslut"] == ("10 mars 2027", "KS § 8: Motionen anses besvarad.")


def test_no_decision_is_recorded_on_a_round_still_open(settings: Settings, round_id: int) -> None:
    with pytest.raises(ConflictError, match="Avsluta remissomgången"):
        _record(settings, round_id, _form())
    assert _counts(settings) == (0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"organ": ""}, "organ", "Välj vilket organ"),
        ({"organ": "nämnden"}, "organ", "Välj kommunstyrelsens arbetsutskott"),
        ({"beslutsdatum": "10/3 2027"}, "beslutsdatum", "år-månad-dag"),
        ({"beslutsdatum": "2027-02-30"}, "beslutsdatum", "år-månad-dag"),
        ({"beslutsdatum": "2027-03-12"}, "beslutsdatum", "framtiden"),
        ({"beslutsdatum": "2026-11-01"}, "beslutsdatum", "innan remissen skickades"),
        ({"paragraf": ""}, "paragraf", "Ange beslutets paragraf"),
        ({"paragraf": "åtta"}, "paragraf", "som ett nummer"),
        ({"text": "  \n "}, "text", "Skriv vad som beslutades"),
        ({"text": "x" * 2001}, "text", "högst 2000 tecken"),
        ({"protokollsutdrag": None}, "protokollsutdrag", "Bifoga protokollsutdraget"),
    ],
)
def test_bad_input_names_its_field_and_stores_nothing(
    settings: Settings, round_id: int, overrides: dict[str, object], field: str, message: str
) -> None:
    _close(settings, round_id)
    with pytest.raises(DecisionFormError) as raised:
        _record(settings, round_id, _form(**overrides))
    assert set(raised.value.errors) == {field}
    assert message in raised.value.errors[field]
    assert _counts(settings) == (0, 0, 0)


def test_every_field_wrong_at_once_gives_a_message_for_each(
    settings: Settings, round_id: int
) -> None:
    _close(settings, round_id)
    form = DecisionForm(upload_error="Filen x.exe är inte en PDF-, Word- (DOCX) eller ODT-fil.")
    with pytest.raises(DecisionFormError) as raised:
        _record(settings, round_id, form)
    assert set(raised.value.errors) == {
        "organ",
        "beslutsdatum",
        "paragraf",
        "text",
        "protokollsutdrag",
    }
    assert "x.exe" in raised.value.errors["protokollsutdrag"]


def test_the_same_decision_twice_is_refused_but_the_next_body_may_decide(
    settings: Settings, round_id: int
) -> None:
    _close(settings, round_id)
    _record(settings, round_id, _form(organ="KSAU", paragraf="3"))
    with pytest.raises(ConflictError, match="KSAU § 3 den 10 mars 2027 är redan registrerat"):
        _record(settings, round_id, _form(organ="ksau", paragraf="§ 3"))
    _record(settings, round_id, _form(organ="KS", paragraf="8"))
    assert _counts(settings)[:2] == (2, 2)


def test_sending_queues_one_message_per_remissinstans_once(
    settings: Settings, round_id: int
) -> None:
    _close(settings, round_id)
    decision_id = _record(settings, round_id, _form())
    with session_scope(settings.database_url) as session:
        assert (
            send_decision(
                session, round_id=round_id, decision_id=decision_id, user="karin", now=DECIDED
            )
            == 2
        )
    with session_scope(settings.database_url) as session:
        again = send_decision(
            session, round_id=round_id, decision_id=decision_id, user="karin", now=DECIDED
        )
        assert again == 0
    with session_scope(settings.database_url) as session:
        messages = session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.kind == MessageKind.BESLUT)
        ).all()
        assert sorted(m.dispatch.remissinstans.code for m in messages) == sorted(TWO)
        assert {m.stage for m in messages} == {decision_id}
        assert {m.state for m in messages} == {MessageState.PENDING}
        events = session.scalars(select(Event).where(Event.kind == EventKind.DECISION_SENT)).all()
        assert len(events) == 2
        actions = [e.action for e in entries_for_round(session, round_id=round_id)]
        assert actions == ["decision_recorded", "decision_sent"]
    steps = _steps(settings, round_id, DECIDED)
    assert steps["skickat"] == ("ännu inte", "till 0 av 2 remissinstanser")


def test_a_decision_of_another_round_is_not_found(settings: Settings, round_id: int) -> None:
    _close(settings, round_id)
    decision_id = _record(settings, round_id, _form())
    with pytest.raises(NotFoundError), session_scope(settings.database_url) as session:
        send_decision(
            session, round_id=round_id + 1, decision_id=decision_id, user="k", now=DECIDED
        )
