"""The decision on a case and the case's history, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from remiss.answers import service as answers
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.rounds import start as rounds_start
from remiss.rounds.service import close_round
from remiss.rounds.timeline import case_timeline, report_versions
from tests.conftest import SettingsFactory

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
            d.sent_at, d.state = sent, "sent"
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
