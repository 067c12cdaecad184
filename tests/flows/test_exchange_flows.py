"""A round through Prefect with the Exchange backend, against the EWS test server: the
send flow, the mailbox poll flow (answer, kvittens to its sender, reports), the password
from a Prefect Secret block, and the concurrency limit on mail calls."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from pydantic import SecretStr

from flows.inbox import poll_mailbox
from flows.messages import MAIL_LIMIT
from flows.start_round import start_round
from remiss.core.dates import utcnow
from remiss.core.settings import Settings, load_settings
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.inbox import poll as inbox
from remiss.mail import load_mailbox
from remiss.mail.exchange import clear_connections
from remiss.rounds.status import status_document
from remiss.storage.uploads import upload_limits
from tests.conftest import future_deadline
from tests.support.documents import pdf_bytes
from tests.support.ews_server import EwsServer, Rights
from tests.support.incoming import reply

BOX = "remiss@stockholm.example"


@pytest.fixture
def ews(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[EwsServer]:
    with EwsServer({"svc": "hemligt"}, {"svc": Rights(delegate=[BOX])}, mailboxes=[BOX]) as server:
        for key, value in {
            "REMISS_MAIL_BACKEND": "exchange",
            "REMISS_EWS_URL": server.url,
            "REMISS_EWS_AUTH": "basic",
            "REMISS_EWS_USERNAME": "svc",
            "REMISS_EWS_SECRET": "hemligt",
            "REMISS_EWS_TIMEOUT_SECONDS": "2",
            "REMISS_MAIL_CONCURRENCY": "3",
        }.items():
            monkeypatch.setenv(key, value)
        clear_connections()
        yield server
        clear_connections()


def mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_a_round_through_prefect_and_exchange(ews: EwsServer, case_dir: Path) -> None:
    round_id = start_round(
        str(case_dir / "arende.yaml"), to=["rad"], deadline=future_deadline().isoformat()
    )
    assert len(ews.sent_log) == 5
    assert ews.calls.count("CreateItem") == 1
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        assert {d.state for d in session.get_one(Round, round_id).dispatches} == {"sent"}

    missiv = next(m for m in ews.sent_log if "kpr" in m.recipients[0])
    sender = "handlaggare.kpr@stockholm.example"
    ews.deliver(
        BOX,
        reply(
            mime(missiv.mime),
            sender=sender,
            files=(("yttrande.pdf", pdf_bytes("Yttrande"), "application/pdf"),),
        ),
    )

    result = poll_mailbox()

    assert len(result["answers"]) == 1
    assert result["answers_processed"] == 1
    assert result["delivered"] == 5
    kvittens = ews.sent_log[-1]
    assert kvittens.subject.startswith("Kvittens")
    assert sender in kvittens.recipients
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(MAIL_LIMIT).limit == 3


def test_a_poll_that_stopped_before_the_kvittenser_is_finished_by_the_next_poll(
    ews: EwsServer, case_dir: Path
) -> None:
    start_round(str(case_dir / "arende.yaml"), to=["rad"], deadline=future_deadline().isoformat())
    for code in ("kpr", "konstradet"):
        missiv = next(m for m in ews.sent_log if code in m.recipients[0])
        ews.deliver(
            BOX,
            reply(
                mime(missiv.mime),
                sender=f"registrator.{code}@stockholm.example",
                files=(("yttrande.pdf", pdf_bytes(f"Yttrande {code}"), "application/pdf"),),
            ),
        )
    # The first poll recorded both answers and filed the messages, then was killed before
    # it processed them: the task's body alone, as far as a kill -9 lets it come.
    settings = load_settings()
    recorded = inbox.poll(
        settings, load_mailbox(settings), now=utcnow(), limits=upload_limits(settings)
    )
    assert len(recorded.answers) == 2
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=utcnow(), tz=settings.timezone)
    assert doc["rounds"][0]["awaiting_kvittens"] == 2
    assert not [m for m in ews.sent_log if m.subject.startswith("Kvittens")]

    result = poll_mailbox()  # the mailbox is empty now

    assert (result["read"], result["answers"]) == (0, [])
    assert (result["answers_from_earlier"], result["answers_left"]) == (2, 0)
    kvittenser = [m for m in ews.sent_log if m.subject.startswith("Kvittens")]
    assert sorted(r for m in kvittenser for r in m.recipients if r.startswith("registrator")) == [
        "registrator.konstradet@stockholm.example",
        "registrator.kpr@stockholm.example",
    ]
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=utcnow(), tz=settings.timezone)
    assert doc["rounds"][0]["awaiting_kvittens"] == 0
    assert poll_mailbox()["answers_from_earlier"] == 0, "nothing is sent twice"
    assert len([m for m in ews.sent_log if m.subject.startswith("Kvittens")]) == 2


def test_the_password_can_come_from_a_prefect_secret_block(
    ews: EwsServer, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a thread of its own: after the browser tests, Playwright's event loop is left on
    # this one, and Prefect's sync_compatible save would return an unawaited coroutine.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            Secret(value=SecretStr("hemligt")).save, "ews-remiss-test", overwrite=True
        ).result()
    monkeypatch.delenv("REMISS_EWS_SECRET")
    monkeypatch.setenv("REMISS_EWS_SECRET_BLOCK", "ews-remiss-test")
    start_round(str(case_dir / "arende.yaml"), to=["rad"], deadline=future_deadline().isoformat())
    assert len(ews.sent_log) == 5
