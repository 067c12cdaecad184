"""Closing a round in the rounds service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from remiss.core.errors import ConflictError, NotFoundError
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.rounds import start as rounds_start
from remiss.rounds.service import close_round
from tests.conftest import SettingsFactory

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
CLOSED_AT = dt.datetime(2027, 2, 3, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=NOW)
    return s


@pytest.fixture
def round_id(settings: Settings, case_dir: Path) -> int:
    return rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=NOW, deadline="2027-01-29"
    )


def test_closing_sets_the_state_and_the_time_given(settings: Settings, round_id: int) -> None:
    with session_scope(settings.database_url) as session:
        for dispatch in session.get_one(Round, round_id).dispatches:
            dispatch.next_reminder_at = NOW
    with session_scope(settings.database_url) as session:
        closed = close_round(session, round_id=round_id, now=CLOSED_AT)
        assert closed.id == round_id
    with session_scope(settings.database_url) as session:
        rnd = session.get_one(Round, round_id)
        assert rnd.state == "closed"
        assert rnd.closed_at == CLOSED_AT
        assert rnd.dispatches, "the example case has remissinstanser"
        assert all(d.next_reminder_at is None for d in rnd.dispatches)


def test_closing_twice_is_a_conflict(settings: Settings, round_id: int) -> None:
    with session_scope(settings.database_url) as session:
        close_round(session, round_id=round_id, now=CLOSED_AT)
    with (
        pytest.raises(ConflictError, match=f"Omgång {round_id} är redan avslutad"),
        session_scope(settings.database_url) as session,
    ):
        close_round(session, round_id=round_id, now=CLOSED_AT + dt.timedelta(days=1))
    with session_scope(settings.database_url) as session:
        assert session.get_one(Round, round_id).closed_at == CLOSED_AT


def test_an_unknown_round_is_not_found(settings: Settings, round_id: int) -> None:
    with (
        pytest.raises(NotFoundError, match="Hittar ingen remissomgång '999'"),
        session_scope(settings.database_url) as session,
    ):
        close_round(session, round_id=999, now=CLOSED_AT)
    with session_scope(settings.database_url) as session:
        assert session.get_one(Round, round_id).state == "open"
