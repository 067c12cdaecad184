"""An anstånd is bounded by the case (issue 17, point 8): over HTTP against a running portal,
and when stadsledningskontoret grants it with `remiss anstand grant --date`."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from remiss.answers import anstand
from remiss.cli import app
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.states import AnstandState, EventKind, MessageKind
from remiss.db.engine import session_scope
from remiss.db.models import Anstand, Event, OutgoingMessage
from tests.conftest import ROOT, SettingsFactory, settings_in_environment
from tests.support.rounds import dispatch_of, start_and_send
from tests.web.conftest import RECIPIENTS, Portal


def _working_day_after(day: dt.date, days: int) -> dt.date:
    day += dt.timedelta(days=days)
    while not dates.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def test_a_running_portal_refuses_an_anstand_to_9999_12_31(
    make_settings: SettingsFactory, database_url: str, case_dir: Path, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, REMISS_BASE_URL=base_url)
    tokens = start_and_send(settings, case_dir / "arende.yaml", RECIPIENTS)
    token = tokens["servicenamnden"]
    env = {
        "PATH": str(Path(sys.executable).parent),
        "PYTHONPATH": str(ROOT),
        "REMISS_DATA_DIR": str(tmp_path / "data"),
        "REMISS_DATABASE_URL": settings.database_url,
        "REMISS_BASE_URL": base_url,
        "REMISS_ANSWER_TRIGGER": "event",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "remiss.cli.portal_app:create",
         "--port", str(port), "--no-access-log"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            for _ in range(150):
                try:
                    page = client.get(f"/r/{token}")
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert page.status_code == 200
            match = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert match
            asked = client.post(
                f"/r/{token}/anstand",
                data={"csrf": match.group(1), "datum": "9999-12-31", "skal": "Vi behöver tid."},
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert asked.status_code == 400
    # The message at the date field, and the form as it was sent.
    error = re.search(r'id="datum-fel"[^>]*>(.*?)</p>', asked.text, re.S)
    assert error, asked.text
    assert "Anstånd kan ges till och med" in error.group(1)
    assert 'value="9999-12-31"' in asked.text
    assert "Vi behöver tid." in asked.text
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Anstand)).all() == []
        kinds = session.scalars(select(Event.kind)).all()
        assert EventKind.ANSTAND_REQUESTED not in kinds


@pytest.fixture
def requested(make_portal: Callable[..., Portal], monkeypatch: pytest.MonkeyPatch) -> Portal:
    """A portal whose servicenämnd has asked, within the bounds, for two more weeks."""
    portal = make_portal()
    settings_in_environment(monkeypatch, portal.settings.data_dir, portal.settings.database_url)
    token = portal.tokens["servicenamnden"]
    with session_scope(portal.settings.database_url) as session:
        deadline = dispatch_of(session, "servicenamnden").deadline
    asked = portal.client.post(
        f"/r/{token}/anstand",
        data={
            "csrf": portal.csrf(token),
            "datum": _working_day_after(deadline, 14).isoformat(),
            "skal": "Nämnden sammanträder.",
        },
    )
    assert asked.status_code == 303
    return portal


def _unchanged(portal: Portal, deadline: dt.date) -> None:
    with session_scope(portal.settings.database_url) as session:
        dispatch = dispatch_of(session, "servicenamnden")
        assert dispatch.deadline == deadline
        assert [a.state for a in dispatch.anstand] == [AnstandState.REQUESTED]
        assert [a.granted_date for a in dispatch.anstand] == [None]
        assert not session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.kind == MessageKind.ANSTAND_BESLUT)
        ).all()


def test_granting_an_anstand_to_9999_12_31_is_refused(requested: Portal) -> None:
    with session_scope(requested.settings.database_url) as session:
        dispatch = dispatch_of(session, "servicenamnden")
        request_id, deadline = dispatch.anstand[0].id, dispatch.deadline
    result = CliRunner().invoke(app, ["anstand", "grant", str(request_id), "--date", "9999-12-31"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "Anstånd kan ges till och med" in message
    assert "9999-12-31" in message
    _unchanged(requested, deadline)


def test_a_request_stored_before_the_bounds_cannot_be_granted_as_asked(
    requested: Portal,
) -> None:
    """A request to 9999-12-31 stored before the form was bounded: granting it as asked,
    without --date, is refused too."""
    with session_scope(requested.settings.database_url) as session:
        dispatch = dispatch_of(session, "servicenamnden")
        request = dispatch.anstand[0]
        request.requested_date = dt.date(9999, 12, 31)
        request_id, deadline = request.id, dispatch.deadline
    with session_scope(requested.settings.database_url) as session:
        with pytest.raises(InputError) as refused:
            anstand.decide(
                session,
                anstand_id=request_id,
                grant=True,
                now=dates.utcnow(),
                tz=requested.settings.timezone,
                max_days=requested.settings.anstand_max_days,
            )
        assert refused.value.field == "--date"
        assert "Anstånd kan ges till och med" in refused.value.message
        session.rollback()
    _unchanged(requested, deadline)
