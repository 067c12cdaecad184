"""Every state and kind column keeps to its Enum, in the database itself (migration 0007),
on SQLite and PostgreSQL: a row written past the models (by hand, by an older version, by
another tool) with an unknown state is refused, and a known one is taken."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from remiss.core.settings import Settings
from remiss.core.states import DispatchState, EventKind, MessageState, RoundState
from remiss.db.engine import alembic_config, migrate, session_scope
from remiss.db.models import Dispatch, OutgoingMessage
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str, case_dir: Path) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=NOW)
    rounds_start.prepare_round(s, case_dir / "arende.yaml", now=NOW, deadline="2027-01-29")
    return s


@pytest.mark.parametrize(
    ("statement", "known"),
    [
        ("UPDATE remissomgang SET state = :value", RoundState.CLOSED),
        ("UPDATE utskick SET state = :value", DispatchState.SENT),
        ("UPDATE utgaende_meddelande SET state = :value", MessageState.CANCELLED),
        ("UPDATE utgaende_meddelande SET kind = :value", "paminnelse_sen5"),
        ("UPDATE handelse SET kind = :value", EventKind.BOUNCED),
    ],
    ids=["round", "dispatch", "message-state", "message-kind", "event-kind"],
)
def test_the_database_refuses_an_unknown_state_and_takes_a_known_one(
    settings: Settings, statement: str, known: str
) -> None:
    # The event log is append-only through the models; raw SQL goes past that guard,
    # which is exactly what the CHECK constraint is for.
    with pytest.raises(IntegrityError), session_scope(settings.database_url) as session:
        session.execute(text(statement), {"value": "bogus"})
    with session_scope(settings.database_url) as session:
        session.execute(text(statement), {"value": str(known)})


def test_states_come_back_as_enums(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        dispatch = session.scalars(select(Dispatch)).first()
        message = session.scalars(select(OutgoingMessage)).first()
        assert dispatch is not None
        assert message is not None
        assert dispatch.state is DispatchState.PENDING
        assert message.state is MessageState.PENDING


def _store_unknown_state(database_url: str) -> None:
    with session_scope(database_url) as session:
        dispatch = session.scalars(select(Dispatch)).first()
        assert dispatch is not None
        dispatch.state = "bogus"  # type: ignore[assignment]


def test_the_models_refuse_an_unknown_state_before_the_database_sees_it(
    settings: Settings,
) -> None:
    with pytest.raises(StatementError, match="'bogus' is not a valid DispatchState"):
        _store_unknown_state(settings.database_url)
    with session_scope(settings.database_url) as session:
        assert {d.state for d in session.scalars(select(Dispatch))} == {DispatchState.PENDING}


def test_migration_0007_keeps_the_rows_and_their_links_both_ways(settings: Settings) -> None:
    """On SQLite adding a CHECK constraint recreates the table: the round's rows, and the
    foreign keys that point at them, survive the way down and up again."""
    url = settings.database_url

    def counts() -> dict[str, int]:
        with session_scope(url) as session:
            return {
                table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                for table in ("remissomgang", "utskick", "utgaende_meddelande", "handelse")
            }

    before = counts()
    assert before["utskick"] > 0
    command.downgrade(alembic_config(url), "0006")
    with session_scope(url) as session:
        session.execute(text("UPDATE utskick SET state = 'bogus'"))  # no constraint at 0006
        session.execute(text("UPDATE utskick SET state = 'pending'"))
    migrate(url)
    assert counts() == before
    with pytest.raises(IntegrityError), session_scope(url) as session:
        session.execute(text("UPDATE utskick SET state = 'bogus'"))
    if url.startswith("sqlite"):
        with session_scope(url) as session:
            assert session.execute(text("PRAGMA foreign_key_check")).all() == []
