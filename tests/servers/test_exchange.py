"""The Exchange backend against the EWS test server (tests/support/ews_server.py), driven
by the real exchangelib: sending in batches, exactly once under faults, the mailbox poll,
and `remiss mail check`'s explanations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from exchangelib import Message  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from remiss.core import dates
from remiss.core.dates import deadline_end, utcnow
from remiss.core.errors import InputError, RemissError
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Event, OutgoingMessage
from remiss.inbox import poll as inbox
from remiss.mail import check_backend, exchange
from remiss.mail.exchange import (
    PROCESSED_CATEGORY,
    ExchangeMailbox,
    ExchangeMailer,
    clear_connections,
)
from remiss.outbox.outcomes import SendOutcome
from remiss.outbox.sending import send_batch
from remiss.reminders import sweep as reminding
from remiss.rounds import start as rounds_start
from remiss.rounds.status import status_document
from remiss.storage.uploads import upload_limits
from remiss.web.app import create_app
from tests.conftest import SettingsFactory, future_deadline
from tests.support.documents import pdf_bytes
from tests.support.ews_server import EwsServer, Rights
from tests.support.incoming import reply
from tests.support.net import free_port
from tests.support.rounds import link_in

BOX = "remiss@stockholm.example"
KEY_PROPERTY = "RemissIdempotencyKey"


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    users = {"svc": "hemligt", "app": "app-pw", "nobody": "nobody-pw"}
    rights = {"svc": Rights(delegate=[BOX]), "nobody": Rights()}
    with EwsServer(users, rights, mailboxes=[BOX], domain="stockholm.example") as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_protocols() -> Iterator[None]:
    # exchangelib caches a protocol (its retry policy, timeout) per endpoint and user.
    clear_connections()
    yield
    clear_connections()


@pytest.fixture
def ews_env(ews: EwsServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("REMISS_EWS_SECRET", "hemligt")
    return {
        "REMISS_MAIL_BACKEND": "exchange",
        "REMISS_EWS_URL": ews.url,
        "REMISS_EWS_AUTH": "basic",
        "REMISS_EWS_USERNAME": "svc",
        "REMISS_EWS_VERSION": "15.1.2507.6",
        "REMISS_EWS_TIMEOUT_SECONDS": "1",
        "REMISS_EWS_MAX_WAIT_SECONDS": "5",
    }


@pytest.fixture
def settings(
    make_settings: SettingsFactory, database_url: str, ews_env: dict[str, str]
) -> Settings:
    s = make_settings(database_url, **ews_env)
    rounds_start.init(s, now=utcnow())
    return s


def start(settings: Settings, case_dir: Path, to: list[str]) -> list[int]:
    round_id = rounds_start.prepare_round(
        settings,
        case_dir / "arende.yaml",
        now=utcnow(),
        to=to,
        deadline=future_deadline().isoformat(),
    )
    return rounds_start.pending_missiv(settings, round_id)


def mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def sent_keys(ews: EwsServer) -> Counter[str]:
    return Counter(str(m.extended_properties.get(KEY_PROPERTY)) for m in ews.sent_log)


def send_until_done(settings: Settings, ids: list[int], attempts: int = 30) -> list[str]:
    """What the send task does: what failed for now, again, until nothing is left to try."""
    mailer = ExchangeMailer(settings)
    results: dict[int, str] = {}
    todo = list(ids)
    for _ in range(attempts):
        outcomes = send_batch(todo, settings=settings, mailer=mailer, now=utcnow())
        results.update((i, o.result) for i, o in zip(todo, outcomes, strict=True))
        todo = [i for i in todo if results[i] == "unsent"]
        if not todo:
            return [results[i] for i in ids]
    raise AssertionError("still not sent")


def poll(settings: Settings) -> inbox.PollResult:
    return inbox.poll(
        settings, ExchangeMailbox(settings), now=utcnow(), limits=upload_limits(settings)
    )


def progress(settings: Settings) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=utcnow(), tz=settings.timezone)
    return {d["code"]: d for d in doc["rounds"][0]["dispatches"]}


def test_each_remissmissiv_carries_outlooks_follow_up_flag_until_its_svarsdag_ends(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir, ["kpr"])

    assert send_until_done(settings, ids) == ["sent"]

    (sent,) = ews.sent_log
    due = deadline_end(future_deadline(), settings.timezone)
    props = sent.extended_properties

    def instant(label: str) -> dt.datetime:
        value = props[label]
        assert isinstance(value, str)
        return dt.datetime.fromisoformat(value)

    # For the recipient: PidLidFlagRequest and PidTagReplyTime (Reply-By outside).
    assert props[str(0x8530)] == "Svara på remissen"
    assert instant("0x30") == due
    # On the sent item: flagged (PidTagFlagStatus 2) from the start to the svarsdag.
    assert props["0x1090"] == "2"
    assert instant(str(0x8105)) == due
    assert instant(str(0x8104)) <= utcnow()
    headers = mime(sent.mime)
    assert headers["X-Message-Flag"] == "Svara på remissen"
    assert email.utils.parsedate_to_datetime(str(headers["Reply-By"])) == due


def test_a_busy_exchange_is_waited_out_for_sends_and_the_poll_and_fails_neither(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir, ["rad"])
    # ErrorServerBusy comes as a SOAP fault with HTTP 500 and BackOffMilliseconds.
    ews.fail_next("CreateItem", "busy", count=2, back_off_ms=20)

    outcomes = send_batch(ids, settings=settings, mailer=ExchangeMailer(settings), now=utcnow())

    assert [o.result for o in outcomes] == ["sent"] * 5  # within the one attempt
    assert ews.calls.count("CreateItem") == 3  # refused twice as busy, then sent once
    assert set(sent_keys(ews).values()) == {1}
    ews.fail_rate(0.5, kinds=("busy",), seed=20261207, back_off_ms=20)
    for sent in ews.sent_log:
        ews.deliver(
            BOX, reply(mime(sent.mime), files=(("svar.pdf", pdf_bytes("Svar"), "application/pdf"),))
        )

    result = poll(settings)  # half of its calls refused as busy, too

    assert len(result.answers) == 5
    assert ews.items(BOX, "inbox") == []


def test_a_round_runs_end_to_end_through_exchange(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir, ["rad"])
    dispatches = progress(settings)
    ews.undeliverable = {dispatches["konstradet"]["email"]}

    results = send_until_done(settings, ids)

    assert results == ["sent"] * 5
    assert ews.calls.count("CreateItem") == 1  # one batch, one call
    assert set(sent_keys(ews).values()) == {1}
    assert len(ews.items(BOX, "sentitems")) == 5  # saved copies, found by key after a timeout
    assert all(m.delivery_receipt_requested for m in ews.sent_log)
    for sent in ews.sent_log:  # the handlingar are attached
        files = [a.get_content_type() for a in mime(sent.mime).iter_attachments()]
        assert "application/pdf" in files

    kpr = next(m for m in ews.sent_log if "kpr" in str(m.extended_properties[KEY_PROPERTY]))
    answer = reply(
        mime(kpr.mime),
        sender="registrator.kpr@stockholm.example",
        files=(("yttrande.pdf", pdf_bytes("Rådets yttrande"), "application/pdf"),),
    )
    ews.deliver(BOX, answer)

    result = poll(settings)

    assert len(result.answers) == 1
    assert result.delivered == 4  # Exchange's delivery reports, one per delivered remiss
    assert len(result.bounced) == 1
    state = progress(settings)
    assert state["kpr"]["answer"]["needs_review"] is True
    assert state["kpr"]["answer"]["files"][0]["filename"] == "yttrande.pdf"
    assert state["konstradet"]["progress"] == "bounced"
    assert state["skonhetsradet"]["progress"] == "delivered"
    assert ews.items(BOX, "inbox") == []  # everything read was moved out
    processed = ews.items(BOX, "Remiss behandlade")
    assert len(processed) == 6
    assert all(PROCESSED_CATEGORY in item.categories for item in processed)
    assert poll(settings).read == 0  # nothing is read twice


def test_a_timeout_after_exchange_sent_the_batch_is_recovered_not_resent(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir, ["rad"])
    ews.fail_next("CreateItem", "timeout_after_create", hang=3)
    mailer = ExchangeMailer(settings)
    first = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())
    assert [o.result for o in first] == ["unsent"] * 5
    assert len(ews.sent_log) == 5  # Exchange did send them; we could not know

    outcomes = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())

    assert [o.result for o in outcomes] == ["recovered"] * 5
    assert set(sent_keys(ews).values()) == {1}


def test_an_item_another_poll_moved_between_marking_and_moving_is_left_as_filed(
    settings: Settings, ews: EwsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ews.deliver(BOX, reply(mime(b"Subject: Remiss\n\nHej"), sender="a@stockholm.example"))
    ours, beside = ExchangeMailbox(settings), ExchangeMailbox(settings)
    (item,) = ours.fetch(10)
    move = Message.move

    def moved_by_the_other_poll_first(self: Any, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(Message, "move", move)
        beside.file(item, "processed")  # marks and moves it, while ours is between the two
        return move(self, *args, **kwargs)

    monkeypatch.setattr(Message, "move", moved_by_the_other_poll_first)
    ours.file(item, "processed")

    assert ews.items(BOX, "inbox") == []
    assert len(ews.items(BOX, "Remiss behandlade")) == 1


def test_messages_too_large_for_one_request_go_in_several_and_a_lost_answer_is_recovered(
    settings: Settings, ews: EwsServer, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = start(settings, case_dir, ["rad"])
    # Each remissmissiv alone is over the limit: one message per CreateItem.
    monkeypatch.setattr(exchange, "CALL_MIME_BYTES", 1)
    mailer = ExchangeMailer(settings)
    calls: list[int] = []
    send_many = mailer.send_many

    def second_call_lost(messages: Any) -> Iterator[Any]:
        for group in send_many(messages):
            calls.append(len(group))
            if len(calls) == 1:
                ews.fail_next("CreateItem", "drop_after_create")  # sent, the answer lost
            yield group

    monkeypatch.setattr(mailer, "send_many", second_call_lost)
    first = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())

    assert calls == [1]
    assert [o.result for o in first] == ["sent"] + ["unsent"] * 4
    assert len(ews.sent_log) == 2  # the second went out; its answer did not come back

    second = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())

    assert [o.result for o in second] == ["already_sent", "recovered"] + ["sent"] * 3
    assert calls == [1, 1, 1, 1]  # the three left, one call each
    assert ews.calls.count("CreateItem") == 5
    assert set(sent_keys(ews).values()) == {1}


def test_with_30_percent_of_calls_failing_every_message_goes_exactly_once(
    make_settings: SettingsFactory, ews: EwsServer, ews_env: dict[str, str], case_dir: Path
) -> None:
    settings = make_settings(
        f"sqlite:///{case_dir.parent / 'faults.db'}", REMISS_EWS_BATCH_SIZE="4", **ews_env
    )
    rounds_start.init(settings, now=utcnow())
    ids = start(settings, case_dir, ["rad", "stadsdelsnamnder"])
    ews.fail_rate(
        0.3,
        kinds=("busy", "503", "timeout_after_create", "drop_after_create"),
        seed=20261123,
        back_off_ms=20,
        retry_after=1,
        hang=2,
    )
    results = []
    for i in range(0, len(ids), 4):
        results += send_until_done(settings, ids[i : i + 4])
    ews.clear_faults()

    assert set(results) <= {"sent", "recovered"}
    with session_scope(settings.database_url) as session:
        retries = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "send_retry")
        )
    assert retries, "the faults were injected and some sends had to be tried again"
    keys = sent_keys(ews)
    assert len(keys) == len(ids) == 16
    assert set(keys.values()) == {1}, "a message went out twice"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"REMISS_EWS_URL": "http://127.0.0.1:{port}/EWS/Exchange.asmx"}, "Kunde inte nå"),
        ({"REMISS_EWS_URL": "{url}/fel"}, "404"),
        ({"secret": "fel-lösenord"}, "godtog inte inloggningen som svc"),
        ({"REMISS_EWS_USERNAME": "nobody", "secret": "nobody-pw"}, "saknar behörighet"),
        ({"REMISS_EWS_MAILBOX": "finns.inte@stockholm.example"}, "finns inte på servern"),
        (
            {
                "REMISS_EWS_ACCESS": "impersonation",
                "REMISS_EWS_USERNAME": "nobody",
                "secret": "nobody-pw",
            },
            "får inte agera som",
        ),
    ],
)
def test_mail_check_explains_each_misconfiguration(
    make_settings: SettingsFactory,
    ews: EwsServer,
    ews_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str],
    message: str,
) -> None:
    env = dict(ews_env)
    for key, value in change.items():
        value = value.format(port=free_port(), url=ews.url.removesuffix("/EWS/Exchange.asmx"))
        if key == "secret":
            monkeypatch.setenv("REMISS_EWS_SECRET", value)
        else:
            env[key] = value
    settings = make_settings(**env)
    with pytest.raises(RemissError, match=message):
        check_backend(settings)


def test_mail_check_reports_what_it_found(
    make_settings: SettingsFactory, ews_env: dict[str, str], ews: EwsServer
) -> None:
    # The check makes a dozen calls; the fixture's 1 s timeout (for the fault tests) timed
    # out here on a loaded machine.
    settings = make_settings(**{**ews_env, "REMISS_EWS_TIMEOUT_SECONDS": "20"})
    lines = check_backend(settings)
    assert any(line.startswith("Inkorgen: 0 meddelanden") for line in lines)
    assert "Mappen Remiss omatchade: finns inte ännu (skapas vid första läsningen)" in lines


def test_missing_secret_is_a_clear_input_error(
    make_settings: SettingsFactory, ews_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMISS_EWS_SECRET")
    with pytest.raises(InputError, match="REMISS_EWS_SECRET"):
        check_backend(make_settings(**ews_env))


def test_a_sender_stuck_in_503_retries_past_the_lease_keeps_its_claim_and_each_copy_works(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    """Issue 23: Exchange answered 503 for longer than the send lease while exchangelib
    retried, and a second sender took the messages over and sent them too. Here the lease
    (2 s) is shorter than the retry budget on purpose (the settings refuse that; the
    heartbeat must hold even so): the second sender finds them being sent and leaves
    them, each goes out once, and the link in every copy opens the answer page."""
    stuck = dataclasses.replace(settings, send_lease_seconds=2, ews_max_wait_seconds=8)
    ids = start(settings, case_dir, ["kpr", "konstradet"])
    ews.fail_next("CreateItem", "503", count=4, retry_after=1)
    first: list[list[SendOutcome]] = []
    sender = threading.Thread(
        target=lambda: first.append(
            send_batch(ids, settings=stuck, mailer=ExchangeMailer(stuck), now=utcnow())
        )
    )
    sender.start()
    time.sleep(3)  # past the lease, while the first sender is still in its 503 retries
    assert sender.is_alive(), "the first sender should still be retrying"
    second = send_batch(
        ids, settings=stuck, mailer=ExchangeMailer(stuck), now=utcnow(), owner="other-host:99"
    )
    sender.join(timeout=30)

    assert [o.result for o in second] == ["busy", "busy"]
    assert all(o.holder.endswith(f":{os.getpid()}") and o.since for o in second)
    assert [o.result for o in first[0]] == ["sent", "sent"]
    assert set(sent_keys(ews).values()) == {1}
    assert len(ews.sent_log) == 2
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        for sent in ews.sent_log:
            token = link_in(mime(sent.mime)).rsplit("/", 1)[1]
            assert client.get(f"/r/{token}").status_code == 200


def test_a_sender_whose_claims_were_taken_over_sends_no_more(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    """The claim is a fencing token: once another process holds a message (here: it took
    the claim over while this sender was away), this sender neither sends nor records it."""
    ids = start(settings, case_dir, ["kpr", "konstradet"])

    class TakenOverMeanwhile(ExchangeMailer):
        def find_sent(self, idempotency_key: str) -> str | None:
            return None

    mailer = TakenOverMeanwhile(settings)
    original = mailer.send_many

    def taken_over_first(messages: Any) -> Any:
        # Another process takes the claims over just before this one would call Exchange,
        # as if this one had stood still (a paused VM) past its lease.
        with session_scope(settings.database_url) as session:
            for message in session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.id.in_(ids))
            ):
                message.attempts += 1
                message.claimed_by = "other-host:7"
        time.sleep(1.1)
        return original(messages)

    mailer.send_many = taken_over_first  # type: ignore[method-assign]
    outcomes = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())

    assert [o.result for o in outcomes] == ["busy", "busy"]
    assert {o.holder for o in outcomes} == {"other-host:7"}
    assert ews.sent_log == []


def test_an_address_exchange_refuses_fails_only_its_own_message_for_good(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    """Issue 17: with one address refused (ErrorInvalidRecipients for that message only),
    exchangelib raised for the whole CreateItem call; the dispatch was retried for minutes,
    stayed "skickas" and `round send` repeated it. Now it fails for good, with a reason the
    handläggare can act on, and the rest of the batch is sent once, in one call."""
    ids = start(settings, case_dir, ["namnder", "stadsdelsnamnder", "bolag", "rad"])
    assert len(ids) > 40
    refused = progress(settings)["konstradet"]["email"]
    ews.refused = {refused}

    outcomes = send_batch(ids, settings=settings, mailer=ExchangeMailer(settings), now=utcnow())

    results = Counter(o.result for o in outcomes)
    assert results == {"sent": len(ids) - 1, "failed": 1}
    assert ews.calls.count("CreateItem") == 1
    assert set(sent_keys(ews).values()) == {1}
    assert refused not in {r for m in ews.sent_log for r in m.recipients}
    state = progress(settings)["konstradet"]
    assert state["state"] == "failed"
    assert state["last_error"].startswith("Exchange tog inte emot mottagarens adress (")
    assert "Rätta adressen" in state["last_error"]
    # A second send does not try it again.
    again = send_batch(ids, settings=settings, mailer=ExchangeMailer(settings), now=utcnow())
    assert {o.result for o in again} == {"already_sent", "failed"}
    assert ews.calls.count("CreateItem") == 1


def test_a_reminder_to_an_address_exchange_now_refuses_fails_alone(
    settings: Settings, ews: EwsServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir, ["stadsdelsnamnder", "rad"])
    mailer = ExchangeMailer(settings)
    sent = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())
    assert {o.result for o in sent} == {"sent"}
    ews.refused = {progress(settings)["kpr"]["email"]}  # the address has stopped working
    deadline = dt.date.fromisoformat(progress(settings)["kpr"]["deadline"])
    after = dates.local_instant(dates.add_working_days(deadline, 1), 8, 0, settings.timezone)

    reminders = reminding.queue_due(settings, now=after)
    outcomes = send_batch(reminders, settings=settings, mailer=mailer, now=after)

    assert len(reminders) == len(ids)
    assert Counter(o.result for o in outcomes) == {"sent": len(ids) - 1, "failed": 1}
    assert set(sent_keys(ews).values()) == {1}
