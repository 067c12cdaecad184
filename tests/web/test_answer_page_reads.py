"""The answer page reads without the write lock (issue 20): a view waits for no writer, and
the first opening is recorded once however many first views come at the same time."""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from remiss.answers import service as answers
from remiss.core import dates
from remiss.core.states import EventKind
from remiss.db.engine import get_engine, session_scope
from remiss.db.models import Dispatch, Event
from tests.conftest import _admin_conninfo
from tests.web.conftest import Portal

CLICKED = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1"}
HELD_SECONDS = 5.0


def openings(portal: Portal) -> int:
    with session_scope(portal.settings.database_url) as session:
        return (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.kind == EventKind.OPENED)
            )
            or 0
        )


# The write lock is SQLite's.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_opened_link_is_shown_while_another_transaction_holds_the_write_lock(
    portal: Portal,
) -> None:
    url = portal.settings.database_url
    token = portal.tokens["socialnamnden"]
    assert portal.client.get(f"/r/{token}", headers=CLICKED).status_code == 200
    writer = sqlite3.connect(url.split("///", 1)[1], isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # a flow in the middle of a write, say
    releaser = threading.Timer(HELD_SECONDS, writer.rollback)
    releaser.start()
    try:
        started = time.monotonic()
        # Reloaded by the person who opened it: a view, which must not wait for the writer.
        page = portal.client.get(f"/r/{token}", headers=CLICKED)
        waited = time.monotonic() - started
        receipt_page = portal.client.get(f"/r/{token}/kvitto/1")
    finally:
        releaser.join()
        writer.close()
    assert page.status_code == 200
    assert "Socialnämnden" in page.text
    assert waited < HELD_SECONDS / 2
    assert receipt_page.status_code == 404  # no answer yet; looked up without waiting either
    assert openings(portal) == 1


# On SQLite the write lock already puts one after the other.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_first_openings_at_the_same_moment_record_one(portal: Portal) -> None:
    url = portal.settings.database_url
    token = portal.tokens["bromma"]
    now = dates.utcnow()
    engine = get_engine(url)
    with Session(engine) as first, Session(engine) as second:
        # Both read the link as not yet opened before either records it.
        seen = [
            answers.find_by_token(s, token=token, now=now, valid_days_after_close=30)
            for s in (first, second)
        ]
        assert all(d is not None and d.opened_at is None for d in seen)
        a, b = seen
        assert a is not None
        assert b is not None
        assert answers.record_opening(first, dispatch=a, now=now)
        first.commit()
        assert not answers.record_opening(second, dispatch=b, now=now)
        assert b.opened_at is not None
        second.commit()
    assert openings(portal) == 1
    with session_scope(url) as session:
        opened = session.scalars(select(Dispatch.opened_at).where(Dispatch.opened_at.is_not(None)))
        assert len(opened.all()) == 1


def test_many_first_views_at_once_show_the_link_as_opened_and_record_it_once(
    portal: Portal,
) -> None:
    token = portal.tokens["farsta"]
    pages: list[str] = []

    def view() -> None:
        response = portal.client.get(f"/r/{token}", headers=CLICKED)
        assert response.status_code == 200
        pages.append(response.text)

    threads = [threading.Thread(target=view) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pages) == 8
    assert all("<dd>Öppnad</dd>" in p for p in pages)
    assert openings(portal) == 1


# A database that cannot be written, made real: PostgreSQL's read-only default.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_first_opening_while_the_database_cannot_be_written_still_shows_the_page(
    portal: Portal,
) -> None:
    url = portal.settings.database_url
    token = portal.tokens["socialnamnden"]

    def read_only(on: bool) -> None:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            value = "on" if on else "off"
            conn.execute(
                f'ALTER DATABASE "{make_url(url).database}" '
                f"SET default_transaction_read_only = {value}"
            )
        get_engine(url).dispose()  # new connections take the new default

    read_only(True)
    try:
        page = portal.client.get(f"/r/{token}", headers=CLICKED)
    finally:
        read_only(False)

    assert page.status_code == 200
    assert "Socialnämnden" in page.text
    assert openings(portal) == 0  # not recorded, and nothing else lost
    again = portal.client.get(f"/r/{token}", headers=CLICKED)
    assert again.status_code == 200
    assert "<dd>Öppnad</dd>" in again.text
    assert openings(portal) == 1
