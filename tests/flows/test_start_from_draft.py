"""The workspace's "Skicka": the job `starta` (flow start_round_from_draft) on a real Prefect
server, and the whole hand-off from two clicks at once to one missiv per recipient."""

from __future__ import annotations

import email
import re
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select

from flows.start_round import start_round_from_draft
from remiss.cli.portal_app import app_for
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.core.states import DraftState, MessageKind, MessageState
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, CaseDraft, Dispatch, Document, OutgoingMessage, Round
from remiss.register.instances import load_register
from remiss.rounds import start as rounds_start
from tests.conftest import settings_in_environment
from tests.support.mailers import send_calls
from tests.support.workspace import MOTION, SSO, USER, case_data, new_draft

RECIPIENTS = {"Kulturnämnden", "Socialnämnden", "Bromma stadsdelsnämnd", "Teaterförbundet"}


def click_send(settings: Settings, draft_id: int) -> bool:
    """What the POST does in its transaction: check the draft, then draft -> starting."""
    with session_scope(settings.database_url) as session:
        draft = session.get_one(CaseDraft, draft_id)
        return rounds_start.request_start(
            session,
            draft=draft,
            settings=settings,
            register=load_register(settings.register),
            user=USER,
            now=utcnow(),
        )


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def missiv_files(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_dir.glob("*_missiv_0.eml"))


def test_a_draft_sent_from_the_workspace_becomes_a_round_and_each_recipient_gets_one_missiv(
    settings: Settings,
) -> None:
    draft_id = new_draft(settings, case_data())
    assert click_send(settings, draft_id)

    round_id = start_round_from_draft(draft_id)

    with session_scope(settings.database_url) as session:
        draft = session.get_one(CaseDraft, draft_id)
        assert (draft.state, draft.round_id) == (DraftState.STARTED, round_id)
        assert rounds_start.STARTED_BY not in draft.data
        rnd = session.get_one(Round, round_id)
        assert rnd.case.diarienummer == "KS 2026/1201"
        assert rnd.case.att_satser[0].text.startswith("att staden inventerar")
        assert {d.name for d in rnd.dispatches} == RECIPIENTS
        assert {d.state for d in rnd.dispatches} == {"sent"}
        # The draft's uploaded motion is the case's handling: the same row, not a copy.
        (doc,) = session.scalars(select(Document).where(Document.case_id == rnd.case_id)).all()
        assert (doc.draft_id, doc.filename) == (draft_id, "Motion om fria scener.pdf")
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "round_started")
        ).all()
        assert (entry.user_name, entry.round_id) == (USER, round_id)
        assert entry.detail["remissinstanser"] == 4
    files = missiv_files(settings)
    assert len(files) == 4
    assert set(send_calls(settings.outbox_dir).values()) == {1}
    teater = read_eml(next(p for p in files if "extern-teaterforbundet" in p.name))
    assert teater["To"] == "kansli@teaterforbundet.example"
    (attachment,) = list(teater.iter_attachments())
    assert attachment.get_filename() == "Motion om fria scener.pdf"
    assert attachment.get_content() == MOTION


def test_running_the_job_again_starts_no_second_round_and_sends_nothing_twice(
    settings: Settings,
) -> None:
    draft_id = new_draft(settings, case_data())
    click_send(settings, draft_id)
    first = start_round_from_draft(draft_id)
    assert start_round_from_draft(draft_id) == first
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Round)) == 1
    assert sum(send_calls(settings.outbox_dir).values()) == 4


def test_a_job_that_died_after_storing_the_round_finishes_it_when_run_again(
    settings: Settings,
) -> None:
    draft_id = new_draft(settings, case_data())
    click_send(settings, draft_id)
    # The first run stored the round and died before sending anything.
    round_id = rounds_start.create_round_from_draft(settings, draft_id, now=utcnow())
    assert missiv_files(settings) == []

    assert start_round_from_draft(draft_id) == round_id
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Round)) == 1
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "round_started")
        ).all()
        assert entry.round_id == round_id
    assert len(missiv_files(settings)) == 4
    assert set(send_calls(settings.outbox_dir).values()) == {1}


def test_a_job_that_died_while_storing_the_round_left_nothing_half_stored(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft_id = new_draft(settings, case_data())
    click_send(settings, draft_id)

    def dies(*_args: object, **_kwargs: object) -> None:
        raise SystemExit("killed")  # as the process dying before the commit

    with monkeypatch.context() as patched:
        patched.setattr(rounds_start, "record", dies)
        with pytest.raises(SystemExit):
            rounds_start.create_round_from_draft(settings, draft_id, now=utcnow())
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Round)) == 0
        draft = session.get_one(CaseDraft, draft_id)
        assert draft.state == DraftState.STARTING
        assert draft.data[rounds_start.STARTED_BY] == USER

    start_round_from_draft(draft_id)
    assert len(missiv_files(settings)) == 4


def test_a_draft_that_no_longer_passes_the_checks_is_given_back_unsent(
    settings: Settings,
) -> None:
    draft_id = new_draft(settings, case_data())
    click_send(settings, draft_id)
    with session_scope(settings.database_url) as session:  # a code left the register since
        draft = session.get_one(CaseDraft, draft_id)
        draft.data = {**draft.data, "remissinstanser": ["nedlagda_namnden"]}

    state = start_round_from_draft(draft_id, return_state=True)

    assert state.is_failed()
    assert "nedlagda_namnden" in (state.message or "")
    with session_scope(settings.database_url) as session:
        draft = session.get_one(CaseDraft, draft_id)
        assert draft.state == DraftState.DRAFT
        assert rounds_start.STARTED_BY not in draft.data
        assert session.scalar(select(func.count()).select_from(Round)) == 0
    assert missiv_files(settings) == []


@pytest.fixture
def workspace_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> Settings:
    """The flows' settings on SQLite or PostgreSQL, with the SSO header for the workspace."""
    monkeypatch.setenv("REMISS_MAIL_BACKEND", "tests.support.mailers:recording_outbox")
    monkeypatch.setenv("REMISS_ADMIN_SSO_HEADER", "X-Remote-User")
    monkeypatch.setenv("REMISS_ANSWER_TRIGGER", "thread")
    # The portal's job thread does not inherit the test server's settings context.
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    settings = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    rounds_start.init(settings, now=utcnow())
    return settings


def test_two_clicks_at_once_start_one_round_with_one_missiv_per_recipient(
    workspace_settings: Settings,
) -> None:
    settings = workspace_settings
    draft_id = new_draft(settings, case_data())
    app = app_for(settings)  # as `remiss portal` serves it: the job runs the flow through Prefect
    clients = [
        TestClient(
            app,
            base_url="https://testserver",
            follow_redirects=False,
            client=("127.0.0.1", 50000),  # the SSO header is believed from the proxy's address
        )
        for _ in range(2)
    ]
    forms = []
    for client in clients:
        page = client.get(f"/admin/utkast/{draft_id}/forhandsgranska", headers=SSO)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found
        forms.append({"csrf": found.group(1)})
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def click(i: int) -> None:
        barrier.wait()
        response = clients[i].post(f"/admin/utkast/{draft_id}/skicka", data=forms[i], headers=SSO)
        answers.append(response.status_code)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [303, 303]

    deadline = time.monotonic() + 120
    while True:
        with session_scope(settings.database_url) as session:
            round_id = session.get_one(CaseDraft, draft_id).round_id
            unsent = session.scalar(
                select(func.count())
                .select_from(OutgoingMessage)
                .join(Dispatch)
                .where(
                    OutgoingMessage.kind == MessageKind.MISSIV,
                    OutgoingMessage.state != MessageState.SENT,
                )
            )
        if round_id is not None and unsent == 0:
            break
        assert time.monotonic() < deadline, "the round was not sent within 120 s"
        time.sleep(0.5)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Round)) == 1
    assert len(missiv_files(settings)) == 4
    assert set(send_calls(settings.outbox_dir).values()) == {1}
    page = clients[0].get(f"/admin/utkast/{draft_id}/skickas", headers=SSO)
    assert f'href="/admin/omgang/{round_id}"' in page.text
    for client in clients:
        client.close()
