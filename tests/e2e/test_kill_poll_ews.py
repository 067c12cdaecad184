"""The Exchange (EWS) mailbox poll as the operator runs it, with a mailbox like a real one
(issue 25): 18 remissinstanser, replies with documents (one from a private address),
Exchange's delivery reports, a registration receipt from a diarium, an out-of-office reply
and a message that matches no remiss. `remiss inbox poll` runs in processes of its own and
is killed with SIGKILL while reading and while filing, and once while a second poll runs
beside it; the last polls run while a fifth of all EWS calls get ErrorServerBusy (with
BackOffMilliseconds) or HTTP 503. Then: every message recorded once and filed once, every
kvittens sent once and none left unsent, the receipt recorded as the remissinstans's
kvittens, no poll failed, no process left after a kill, and the reminder sweep after the
deadline still reminds every remissinstans whose only answer is an unreviewed e-mail.

The EWS test server runs in this process and outlives the kills.
"""

from __future__ import annotations

import email
import email.policy
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from remiss.core.settings import load_settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, InboundMail
from tests.e2e.conftest import RunCli, kill_test_env, reminders_after_deadline, status_json
from tests.e2e.test_kill_poll_graph import KILLED, in_session, kill_when, poll
from tests.support.documents import pdf_bytes
from tests.support.ews_server import EwsServer, Rights
from tests.support.incoming import reply
from tests.support.worlds import World, address, build_world, working_day_ahead

N = 18
BOX = "remiss@stockholm.example"
KEY = "RemissIdempotencyKey"
PRIVATE = "anna.andersson.1975@gmail.example"


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    with EwsServer({"svc": "hemligt"}, {"svc": Rights(delegate=[BOX])}, mailboxes=[BOX]) as server:
        yield server


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path, N, working_day_ahead(6))


@pytest.fixture
def env(
    cli_env: dict[str, str], ews: EwsServer, world: World, tmp_path: Path
) -> Iterator[dict[str, str]]:
    with kill_test_env(
        cli_env,
        world,
        tmp_path,
        REMISS_MAIL_BACKEND="exchange",
        REMISS_SENDER_ADDRESS=BOX,
        REMISS_EWS_URL=ews.url,
        REMISS_EWS_AUTH="basic",
        REMISS_EWS_USERNAME="svc",
        REMISS_EWS_SECRET="hemligt",
        REMISS_EWS_TIMEOUT_SECONDS="5",
    ) as env:
        yield env


def mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_a_real_mailbox_polled_with_kills_and_busy_exchange(
    env: dict[str, str], ews: EwsServer, world: World, run_cli: RunCli, tmp_path: Path
) -> None:
    KILLED.clear()
    assert run_cli("init", env=env).returncode == 0
    started = run_cli("round", "start", str(world.case), "--deadline", world.deadline, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    missiv = {m.recipients[0]: mime(m.mime) for m in ews.sent_log if m.recipients}
    assert len(missiv) == N
    reports = len(ews.items(BOX, "inbox"))  # Exchange's delivery reports of the remiss
    pdf = ("yttrande.pdf", pdf_bytes("Yttrande"), "application/pdf")
    answering = [i for i in range(1, N + 1) if i % 3 == 0]
    for i in answering:
        ews.deliver(BOX, reply(missiv[address(i)], sender=address(i), files=(pdf,)))
    # Forwarded to a private address, answered from there with the document.
    ews.deliver(BOX, reply(missiv[address(4)], sender=PRIVATE, files=(pdf,)))
    ews.deliver(
        BOX,
        reply(
            missiv[address(1)],
            sender=address(1),
            auto=True,
            subject=f"Automatiskt svar: {missiv[address(1)]['Subject']}",
            body="Ert ärende har registrerats med diarienummer INST 2026/4711.\n",
        ),
    )
    ews.deliver(
        BOX,
        reply(
            missiv[address(2)],
            sender=address(2),
            auto=True,
            subject="Automatiskt svar: Frånvaro",
            body="Jag är ledig till och med måndag. Brådskande ärenden: växeln.\n",
        ),
    )
    ews.deliver(
        BOX, reply(missiv[address(5)], threaded=False, subject="Fråga om parkeringstillstånd")
    )
    items = len(ews.items(BOX, "inbox"))
    answers_expected = len(answering) + 1
    assert items == reports + answers_expected + 3
    ews.latency = 0.03  # slow enough that every kill below lands mid-way

    def filed() -> int:
        return items - len(ews.items(BOX, "inbox"))

    first = poll(env, tmp_path / "poll-1.log")
    kill_when(first, lambda: ews.calls.count("GetItem") >= 1, "the poll reading")
    second = poll(env, tmp_path / "poll-2.log")
    kill_when(second, lambda: filed() >= items // 4, "the poll filing")
    beside = poll(env, tmp_path / "poll-3b.log")
    third = poll(env, tmp_path / "poll-3.log")
    kill_when(third, lambda: filed() >= items // 2, "one of two polls at once")
    assert beside.wait(timeout=300) == 0, (tmp_path / "poll-3b.log").read_text()
    ews.latency = 0
    time.sleep(1)
    left = {sid: in_session(sid) for sid in KILLED}
    assert all(p == [] for p in left.values()), f"processes left after the kills: {left}"

    # A fifth of every EWS call refused as busy (with a back-off) or with HTTP 503.
    ews.fail_rate(0.2, kinds=("busy", "503"), seed=25, back_off_ms=20)
    polls = failed = 0
    for _ in range(4):  # the first finishes the killed polls' work; the rest read what came
        last = run_cli("inbox", "poll", env=env)
        polls += 1
        failed += last.returncode != 0
        assert "Traceback" not in last.stdout + last.stderr
    ews.clear_faults()
    assert failed == 0, f"{failed} of {polls} polls failed under a busy Exchange"
    # Exchange's delivery reports of the kvittenser arrive after the polls that sent them.
    drained = run_cli("inbox", "poll", env=env)
    assert drained.returncode == 0, drained.stdout + drained.stderr
    status = status_json(run_cli, env=env)["rounds"][0]
    assert status["awaiting_kvittens"] == 0, "a kvittens was left unsent after the last poll"
    assert status["to_review"] == answers_expected
    by_email = {d["email"]: d for d in status["dispatches"]}
    receipt = by_email[address(1)]
    assert (receipt["progress"], receipt["their_diarienummer"]) == ("received", "INST 2026/4711")
    assert receipt["answer"] is None
    forwarded = by_email[address(4)]
    assert forwarded["progress"] == "to_review"
    assert (forwarded["answer"]["sender"], forwarded["answer"]["sender_outside"]) == (PRIVATE, True)
    assert by_email[address(2)]["answer"] is None  # the out-of-office reply

    with session_scope(load_settings(env).database_url) as session:
        recorded = Counter(str(k) for k in session.scalars(select(InboundMail.kind)))
        answers = session.scalar(select(func.count()).select_from(Answer))
        keys = session.scalars(select(InboundMail.key)).all()
    kvittenser = Counter(
        str(m.extended_properties.get(KEY))
        for m in list(ews.sent_log)
        if "/kvittens/" in str(m.extended_properties.get(KEY))
    )
    assert recorded == {
        "delivered": reports + len(kvittenser),
        "answer": answers_expected,
        "receipt": 1,
        "auto_reply": 1,
        "unmatched": 1,
    }, recorded
    items += len(kvittenser)
    assert len(keys) == len(set(keys)) == items
    assert answers == answers_expected
    assert ews.items(BOX, "inbox") == []
    assert len(ews.items(BOX, "Remiss behandlade")) == items - 1
    assert len(ews.items(BOX, "Remiss omatchade")) == 1
    assert len(kvittenser) == answers_expected
    assert set(kvittenser.values()) == {1}, f"a kvittens went out twice: {kvittenser}"

    # After the deadline: a remissinstans whose only answer is an unreviewed e-mail is
    # reminded like one that has not answered.
    unreviewed, reminders = reminders_after_deadline(run_cli, env, world.deadline)
    assert len(unreviewed) == answers_expected
    assert {d: reminders[d] for d in unreviewed} == dict.fromkeys(unreviewed, 1)
    print(
        f"\nTABLE ews: messages {items}, answers {answers}, duplicates "
        f"{len(keys) - len(set(keys))}, kvittenser sent {len(kvittenser)} left "
        f"{status['awaiting_kvittens']}, reminders to unreviewed "
        f"{sum(reminders[d] for d in unreviewed)}, polls failed under busy "
        f"{failed} of {polls}, processes left after kills {sum(len(p) for p in left.values())}"
    )
