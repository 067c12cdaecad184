"""Reading without the write lock (issue 17, point 1): a report is built in `read_scope`,
which on SQLite begins deferred; writers still take the lock at once and lose nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from remiss.core.errors import RemissError
from remiss.core.settings import Settings
from remiss.db.engine import migrate, read_scope, session_scope
from remiss.db.models import RemissinstansRow as Remissinstans
from tests.conftest import SettingsFactory

WRITERS = 4
INCREMENTS = 25


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    settings = make_settings(database_url)
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        session.add(
            Remissinstans(
                code="raknare",
                name="0",
                kind="nämnd",
                email="r@example.se",
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
    return settings


def counter(settings: Settings) -> int:
    with read_scope(settings.database_url) as session:
        row = session.scalars(select(Remissinstans).where(Remissinstans.code == "raknare")).one()
        return int(row.name)


def test_concurrent_writers_that_read_then_write_lose_no_update(settings: Settings) -> None:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def add_one_at_a_time() -> None:
        start.wait()
        try:
            for _ in range(INCREMENTS):
                with session_scope(settings.database_url) as session:
                    row = session.scalars(
                        select(Remissinstans)
                        .where(Remissinstans.code == "raknare")
                        .with_for_update()
                    ).one()
                    row.name = str(int(row.name) + 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add_one_at_a_time) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counter(settings) == WRITERS * INCREMENTS


def test_a_reader_does_not_wait_for_a_writer_holding_its_transaction(settings: Settings) -> None:
    writing = threading.Event()
    read_done = threading.Event()
    seen: list[int] = []

    def writer() -> None:
        with session_scope(settings.database_url) as session:
            row = session.scalars(
                select(Remissinstans).where(Remissinstans.code == "raknare").with_for_update()
            ).one()
            row.name = "41"
            session.flush()
            writing.set()
            # The writer keeps its transaction (and SQLite's write lock) until the reader
            # has read: a reader that needed the lock would wait here for 30 s and fail.
            read_done.wait(timeout=60)

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(timeout=60)
    seen.append(counter(settings))
    read_done.set()
    thread.join()
    assert seen == [0]  # the snapshot before the writer's commit
    assert counter(settings) == 41


def test_a_read_only_transaction_refuses_to_write(settings: Settings) -> None:
    with read_scope(settings.database_url) as session:
        row = session.scalars(select(Remissinstans)).one()
        row.name = "99"
        with pytest.raises(RemissError):
            session.flush()
    assert counter(settings) == 0
