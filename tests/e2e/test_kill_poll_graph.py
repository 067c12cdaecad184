"""The Graph mailbox poll as the operator runs it, `remiss inbox poll` in a process of its
own, killed with SIGKILL at several points (while following the delta pages, while recording
and filing, and while a second poll runs beside it), then run again: every reply, delivery
report, bounce, read receipt and registration receipt is recorded once and filed once, and
each e-mailed answer gets one kvittens. The last polls run while a fifth of the sends are
throttled (429/503 with Retry-After) and alone leave no kvittens unsent; the reminder sweep
after the deadline still reminds every remissinstans whose only answer is an e-mail nobody
has reviewed; and a killed poll leaves no process behind.

The Graph test server (tests/support/graph_server.py) runs in this process and outlives the
kills; the delta link and the items it handed out live under data_dir/graph/.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from remiss.core.settings import load_settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Event, InboundMail
from tests.e2e.conftest import (
    GRAPH_BOX,
    REMISS,
    RunCli,
    graph_env,
    kill_test_env,
    reminders_after_deadline,
    status_json,
)
from tests.support.documents import pdf_bytes
from tests.support.graph_server import GraphServer
from tests.support.incoming import read_receipt, reply, report
from tests.support.processes import ROOT
from tests.support.worlds import World, address, build_world, working_day_ahead

N = 24  # remissinstanser: a third answer, a third are delivered (four read it), a third bounce


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path, N, working_day_ahead(6))


@pytest.fixture
def env(
    cli_env: dict[str, str], graph: GraphServer, world: World, tmp_path: Path
) -> Iterator[dict[str, str]]:
    with kill_test_env(cli_env, world, tmp_path, **graph_env(graph)) as env:
        yield env


def poll(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(REMISS), "inbox", "poll"],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


KILLED: list[int] = []  # the sessions of the polls killed (each poll leads its own)


def in_session(sid: int) -> list[int]:
    """Live processes of session `sid`, from /proc: what a kill left running."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def kill_when(process: subprocess.Popen[bytes], reached: Callable[[], bool], name: str) -> None:
    """SIGKILL to the poll's whole session once `reached()`; it must still be running then."""
    KILLED.append(process.pid)
    try:
        deadline = time.monotonic() + 120
        while not reached():
            assert process.poll() is None, f"{name} ended before its kill"
            assert time.monotonic() < deadline, f"{name} did not get that far"
            time.sleep(0.005)
        assert process.poll() is None, f"{name} ended before its kill"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_polls_killed_midway_and_run_again_record_and_file_every_item_once(
    env: dict[str, str], graph: GraphServer, world: World, run_cli: RunCli, tmp_path: Path
) -> None:
    assert run_cli("init", env=env).returncode == 0
    started = run_cli("round", "start", str(world.case), "--deadline", world.deadline, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    assert len(graph.sent_log) == N
    missiv = {m.recipients[0]: mime(m.mime) for m in graph.sent_log}
    for i in range(1, N + 1):
        sent = missiv[address(i)]
        if i % 3 == 0:
            pdf = pdf_bytes(f"Yttrande från instans {i}")
            graph.deliver(GRAPH_BOX, reply(sent, files=(("yttrande.pdf", pdf, "application/pdf"),)))
        elif i % 3 == 1:
            graph.deliver(GRAPH_BOX, report(sent, action="delivered"), "REPORT.IPM.Note.DR")
            if i % 6 == 1:
                graph.deliver(GRAPH_BOX, read_receipt(sent, reader=address(i)))
        else:
            graph.deliver(GRAPH_BOX, report(sent, action="failed"), "REPORT.IPM.Note.NDR")
    # A registrator's diarium acknowledges the remiss automatically: a kvittens, not an answer.
    graph.deliver(
        GRAPH_BOX,
        reply(
            missiv[address(1)],
            sender=address(1),
            auto=True,
            subject=f"Automatiskt svar: {missiv[address(1)]['Subject']}",
            body="Ert meddelande har diarieförts med diarienummer INST 2026/4711.\n",
        ),
    )
    items = len(graph.items(GRAPH_BOX, "inbox"))
    expected = Counter(
        {"answer": N // 3, "delivered": N // 3, "bounced": N // 3, "read": N // 6, "receipt": 1}
    )
    assert items == sum(expected.values())
    # Slow enough that every kill below lands mid-way.
    graph.latency = 0.03

    def filed() -> int:
        return items - len(graph.items(GRAPH_BOX, "inbox"))

    first = poll(env, tmp_path / "poll-1.log")
    kill_when(first, lambda: graph.calls.count("delta") >= 3, "the poll following the delta")
    assert filed() == 0
    second = poll(env, tmp_path / "poll-2.log")
    kill_when(second, lambda: filed() >= items // 4, "the poll filing")
    beside = poll(env, tmp_path / "poll-3b.log")
    third = poll(env, tmp_path / "poll-3.log")
    kill_when(third, lambda: filed() >= items // 2, "one of two polls at once")
    assert beside.wait(timeout=180) == 0, (tmp_path / "poll-3b.log").read_text()
    graph.latency = 0
    time.sleep(1)  # SIGTERM from the parent-death signal has reached whatever was below
    left = {sid: in_session(sid) for sid in KILLED}
    assert all(p == [] for p in left.values()), f"processes left after the kills: {left}"
    # The last polls alone finish what the killed ones left (no `remiss answers process`),
    # while a fifth of the sends are throttled.
    graph.fail_rate(0.2, kinds=("429", "503"), seed=25)
    failed = 0
    for _ in range(3):
        last = run_cli("inbox", "poll", env=env)
        failed += last.returncode != 0
        assert "Traceback" not in last.stdout + last.stderr
        if status_json(run_cli, env=env)["rounds"][0]["awaiting_kvittens"] == 0:
            break
    graph.clear_faults()
    assert failed == 0, "a poll failed under throttling"
    status = status_json(run_cli, env=env)["rounds"][0]
    assert status["awaiting_kvittens"] == 0, "a kvittens was left unsent after the last poll"
    assert status["to_review"] == expected["answer"]
    receipt = next(d for d in status["dispatches"] if d["email"] == address(1))
    assert (receipt["progress"], receipt["their_diarienummer"]) == ("received", "INST 2026/4711")
    assert receipt["answer"] is None

    with session_scope(load_settings(env).database_url) as session:
        recorded = Counter(str(k) for k in session.scalars(select(InboundMail.kind)))
        events = Counter(
            str(k)
            for k in session.scalars(
                select(Event.kind).where(Event.kind.in_(["delivered", "bounced", "read_receipt"]))
            )
        )
        answers = session.scalar(select(func.count()).select_from(Answer))
    assert recorded == expected
    assert events == {
        "delivered": expected["delivered"],
        "bounced": expected["bounced"],
        "read_receipt": expected["read"],
    }
    assert answers == expected["answer"]
    assert graph.items(GRAPH_BOX, "inbox") == []
    assert len(graph.items(GRAPH_BOX, "Remiss behandlade")) == items
    assert graph.items(GRAPH_BOX, "Remiss omatchade") == []
    kvittenser = Counter(str(m.key) for m in graph.sent_log if "/kvittens/" in str(m.key))
    assert len(kvittenser) == expected["answer"]
    assert set(kvittenser.values()) == {1}, f"a kvittens went out twice: {kvittenser}"

    # After the deadline the sweep reminds everyone who has not answered: an e-mail that
    # waits for review is not an answer, so its remissinstans is reminded too.
    unreviewed, reminders = reminders_after_deadline(run_cli, env, world.deadline)
    assert len(unreviewed) == expected["answer"]
    assert {d: reminders[d] for d in unreviewed} == dict.fromkeys(unreviewed, 1)
    print(
        f"\nTABLE graph: messages {items}, answers {answers}, duplicates 0, kvittenser sent "
        f"{len(kvittenser)} left {status['awaiting_kvittens']}, reminders to unreviewed "
        f"{sum(reminders[d] for d in unreviewed)}, polls failed under throttling {failed}, "
        f"processes left after kills {sum(len(p) for p in left.values())}"
    )
