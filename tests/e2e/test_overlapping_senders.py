"""Senders that overlap or die, as issue 23 tried them: each message once, and no sender
reports another's work as a failure.

As in the scale-out set-up: Prefect's server and the application database on PostgreSQL,
the deployments from deployments/prefect.yaml on a process work pool, and two process
workers. The mail backend is the outbox with a log of every send call
(tests.support.mailers), each send slowed down so that a fan-out lasts long enough for
another sender to join it, or to be killed at a random point of it:

1. A round started through the deployment, while the other worker runs the send
   deployment for the same round and an operator runs `remiss round send`.
2. The worker that runs a round's fan-out and its flow process killed with SIGKILL at a
   random point; then `remiss round send`.
3. The same in a reminder sweep (the `paminnelser` deployment); then `remiss remind --as-of`.

The kill points are random; the seed is printed, and REMISS_TEST_KILL_SEED repeats a run.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import email
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from remiss.core.settings import load_settings
from remiss.core.states import MessageKind, MessageState
from remiss.core.tokens import hash_token
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch, Event, OutgoingMessage, Round
from remiss.mail.outbox import filename_for
from remiss.outbox.outcomes import SendResult, summary
from tests.conftest import ROOT
from tests.e2e.conftest import REMISS, fresh_prefect_database, status_json
from tests.support.mailers import send_calls, sent_again
from tests.support.net import answers_ok, free_port, wait_until
from tests.support.processes import PREFECT, descendants, start, stop
from tests.support.worlds import World, build_world, working_day_ahead

N = 40  # remissinstanser
# Per send in the first scenario: the start deployment alone takes 40 × 1.6 s / 4 threads,
# which leaves time for a flow process on the other worker to start (8–12 s seen on two
# loaded CPUs) and join it.
SLOW_MS = 1600
START = "starta-remissomgång/starta-remissomgang"
SEND = "skicka-remissomgång/skicka-remissomgang"
REMIND = "påminnelser/paminnelser"
DEPLOYMENTS = ("starta-remissomgang", "skicka-remissomgang", "paminnelser", "larm")
# What an operator must not read when nothing failed.
FALSE_FAILURES = ("kunde inte skickas", "har inte gått iväg", "traceback")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

SEED = int(os.environ.get("REMISS_TEST_KILL_SEED") or random.SystemRandom().randrange(2**32))


# --- The Prefect server and the deployments, shared by the scenarios ------------------------


@dataclass(frozen=True)
class PrefectSetup:
    api: str
    home: Path


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REMISS_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        REMISS_PROJECT_DIR=str(ROOT),
        REMISS_DATA_DIR=str(home / "data"),
        REMISS_BASE_URL="https://remiss.stockholm.example",
    )
    return env


@pytest.fixture(scope="module")
def prefect(
    postgres_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectSetup]:
    """Prefect's server on PostgreSQL with the work pool and the deployments the scenarios
    use (deployments/prefect.yaml), the reminder deployment without its schedule."""
    with fresh_prefect_database() as database:
        yield from _prefect_on(database, tmp_path_factory.mktemp("prefect-overlap"))


def _prefect_on(database: str, home: Path) -> Iterator[PrefectSetup]:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(_base_env(home), PREFECT_API_URL=api)
    server = start(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        dict(env, PREFECT_API_DATABASE_CONNECTION_URL=database),
        home / "server.log",
    )
    try:
        wait_until(lambda: answers_ok(f"{api}/health"), "Prefect's server on PostgreSQL")
        names = [arg for d in DEPLOYMENTS for arg in ("--name", d)]
        for args in (
            ["work-pool", "create", "remiss", "--type", "process"],
            ["--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", *names],
        ):
            done = subprocess.run(
                [str(PREFECT), *args],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        # The weekday 08:00 sweep must not take a worker in the middle of a scenario.
        with httpx.Client(base_url=api, timeout=10) as client:
            deployment = client.get(f"/deployments/name/{REMIND}").json()
            for schedule in deployment["schedules"]:
                url = f"/deployments/{deployment['id']}/schedules/{schedule['id']}"
                client.delete(url).raise_for_status()
        yield PrefectSetup(api, home)
    finally:
        stop(server)


# --- One scenario: its own application database, data folder, round and workers -------------


@dataclass
class Scene:
    env: dict[str, str]
    world: World
    tmp: Path
    client: httpx.Client
    before: set[str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def outbox(self) -> Path:
        return Path(self.env["REMISS_DATA_DIR"]) / "outbox"

    def start_workers(self, delay_ms: int) -> None:
        """Two process workers as the docs start them, one flow run at a time each."""
        for i in (1, 2):
            self.workers.append(
                start(
                    [str(PREFECT), "worker", "start", "--pool", "remiss", "--limit", "1"],
                    dict(self.env, REMISS_TEST_SEND_DELAY_MS=str(delay_ms)),
                    self.tmp / f"worker-{i}.log",
                )
            )

    def run_deployment(self, name: str, parameters: dict[str, Any]) -> str:
        deployment = self.client.get(f"/deployments/name/{name}").json()
        run = self.client.post(
            f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters}
        ).json()
        return str(run["id"])

    def flow_run(self, run_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get(f"/flow_runs/{run_id}").json()
        return found

    def flow_runs(self) -> list[dict[str, Any]]:
        """The flow runs of this scenario."""
        found = self.client.post("/flow_runs/filter", json={"limit": 200}).json()
        return [r for r in found if r["id"] not in self.before]

    def wait_finished(self, *run_ids: str) -> list[dict[str, Any]]:
        def finished() -> list[dict[str, Any]] | None:
            runs = [self.flow_run(r) for r in run_ids]
            return runs if all(r["state_type"] in TERMINAL for r in runs) else None

        return wait_until(finished, "the flow runs on the workers, finished", timeout=240)

    def calls(self, kind: str) -> Counter[str]:
        """Send calls per idempotency key, of one kind of message."""
        return Counter({k: n for k, n in send_calls(self.outbox).items() if f"/{kind}" in k})

    def messages(self, kind: str) -> list[OutgoingMessage]:
        with session_scope(load_settings(self.env).database_url) as session:
            found = session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.kind.startswith(kind))
            ).all()
            session.expunge_all()
            return list(found)

    def recovered(self) -> int:
        with session_scope(load_settings(self.env).database_url) as session:
            sent = session.scalars(select(Event).where(Event.kind == "sent"))
            return sum(1 for e in sent if e.detail.get("recovered"))

    def round_id(self) -> int | None:
        with session_scope(load_settings(self.env).database_url) as session:
            return session.scalars(select(Round.id)).one_or_none()

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REMISS), *args],
            env=env or self.env, cwd=ROOT, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip

    def no_alarm(self) -> list[dict[str, Any]]:
        """The scenario's flow runs, after checking that none failed and no alarm ran."""
        runs = self.flow_runs()
        failed = [(r["name"], r["state_type"], r["state"]["message"]) for r in runs
                  if r["state_type"] in ("FAILED", "CRASHED")]  # fmt: skip
        assert not failed, f"flow runs that failed (each raises an alarm): {failed}"
        alarms = self.client.post(
            "/flow_runs/filter", json={"flows": {"name": {"any_": ["larm"]}}}
        ).json()
        alarms = [r["parameters"].get("subject") for r in alarms if r["id"] not in self.before]
        assert not alarms, f"false alarms: {alarms}"
        return runs


@pytest.fixture
def scene(
    prefect: PrefectSetup,
    cli_env: dict[str, str],
    postgres_url: str,
    tmp_path: Path,
) -> Iterator[Scene]:
    world = build_world(tmp_path, N, working_day_ahead(6))
    env = dict(
        cli_env,
        REMISS_DATABASE_URL=postgres_url,
        REMISS_REGISTER=str(world.register),
        REMISS_PROJECT_DIR=str(ROOT),
        PREFECT_API_URL=prefect.api,
        PREFECT_HOME=str(prefect.home),
        PREFECT_WORKER_QUERY_SECONDS="1",
        # The same key for every process, as docs/operations/scale-out.md says. (Without it
        # the first batches race to create data/secret.key: Settings.secret_key() opens it
        # with O_EXCL, so all but one fail, and a reader may get the empty file's b"".)
        REMISS_SECRET_KEY="överlappande-avsändare-" + uuid.uuid4().hex,
        # Batches of two: many claims, each sender's threads and the others' interleave.
        REMISS_TEST_BATCH_SIZE="2",
        # More mail slots than a killed process can hold (its batches in flight): the
        # re-run need not wait the minute until the dead process's slot leases run out
        # (tests/e2e/test_crashed_worker.py shows that they do).
        REMISS_MAIL_CONCURRENCY="32",
    )
    client = httpx.Client(base_url=prefect.api, timeout=10)
    before = {r["id"] for r in client.post("/flow_runs/filter", json={"limit": 200}).json()}
    made = Scene(env, world, tmp_path, client, before)
    try:
        init = made.cli("init")
        assert init.returncode == 0, init.stdout + init.stderr
        yield made
    finally:
        for worker in made.workers:
            below = descendants(worker.pid)
            stop(worker)
            kill(below)
        client.close()


# --- Killing a worker with everything below it ----------------------------------------------


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


PR_SET_CHILD_SUBREAPER = 36


def _subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0, ctypes.get_errno()


def kill_worker_and_flow(worker: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL to the worker and every process below it, all at once; the pids killed.

    The killed flow process is reaped here, at once, as an init process would: PID 1 here
    reaps orphans a second or two late (in a container without an init, never), and until
    then the zombie's pid answers kill(pid, 0), so its claims would look alive to the re-run
    (claim_is_stale) until their lease ran out. While the worker dies this process is the
    subreaper of its orphans, for that alone.
    """
    below = descendants(worker.pid)
    _subreaper(True)
    try:
        kill([worker.pid, *below])
        worker.wait(timeout=30)

        def reaped() -> bool:
            for pid in below:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            return not any(Path(f"/proc/{pid}").exists() for pid in below)

        wait_until(reaped, "the killed flow process, reaped", timeout=30)
    finally:
        _subreaper(False)
    return [worker.pid, *below]


def wait_for_sends(scene: Scene, kind: str, target: int, what: str) -> None:
    """Until `target` messages of this kind have gone to the mail server (polled often:
    this is where a kill lands, not an assertion)."""
    deadline = time.monotonic() + 240
    while sum(scene.calls(kind).values()) < target:
        assert time.monotonic() < deadline, f"{what}: fewer than {target} sends"
        time.sleep(0.01)


# --- What an operator reads -----------------------------------------------------------------

_MARK = 987654321
_PARTS = {r: summary({r.value: _MARK}).split(str(_MARK)) for r in SendResult}
LABELS = {r: re.compile(re.escape(a) + r"(\d+)" + re.escape(b)) for r, (a, b) in _PARTS.items()}


def sums(text: str) -> dict[str, int] | None:
    """The sums of outcomes.summary() in a text (None when it has none)."""
    flat = " ".join(text.split())
    found = {r.value: int(m.group(1)) for r, p in LABELS.items() if (m := p.search(flat))}
    return found if found or summary({}) in flat else None


def assert_no_false_failure(result: subprocess.CompletedProcess[str]) -> None:
    text = (result.stdout + result.stderr).lower()
    assert result.returncode == 0, result.stdout + result.stderr
    said = [phrase for phrase in FALSE_FAILURES if phrase in text]
    said += re.findall(r"(?m)^Fel:", result.stdout + result.stderr)
    assert not said, f"{said} in:\n{result.stdout}\n{result.stderr}"


def logged_sums(scene: Scene, run_id: str) -> dict[str, int]:
    """The sums a flow run logged (send_in_batches), from Prefect's API; none when it
    found nothing to send."""

    def found() -> tuple[dict[str, int]] | None:
        logs = scene.client.post(
            "/logs/filter",
            json={"logs": {"flow_run_id": {"any_": [run_id]}, "task_run_id": {"is_null_": True}}},
        ).json()
        messages = [log["message"] for log in logs]
        if not any(m.startswith("Finished in state") for m in messages):
            return None  # its log has not all reached the server yet
        return (next((s for m in messages if (s := sums(m)) is not None), {}),)

    return wait_until(found, f"the end of flow run {run_id}'s log", timeout=60)[0]


def pid_of(run: dict[str, Any]) -> int:
    """The flow process of a run on a process worker."""
    return int(str(run["infrastructure_pid"]).rpartition(":")[2])


def sent_by(messages: list[OutgoingMessage]) -> Counter[int]:
    """Per process id, how many of these messages it recorded as sent (claims hold the
    holder's host:pid, kept once the message is sent)."""
    return Counter(
        int((m.claimed_by or "").rpartition(":")[2])
        for m in messages
        if m.state == MessageState.SENT
    )


@dataclass(frozen=True)
class Deliveries:
    """Per kind of message: how many keys went out 0, 1, 2… times (issue 23's table), and
    the send calls that a kill cut off before the message went out."""

    per_key: Counter[int]
    cut_off: Counter[str]

    def __str__(self) -> str:
        return (
            f"deliveries per key {dict(self.per_key)}, calls cut off {sum(self.cut_off.values())}"
        )


def deliveries(scene: Scene, kind: str) -> Deliveries:
    """A message went out when its file is in the outbox, and again at each call made after
    that (tests.support.mailers.sent_again). Only a call that the outbox had not finished
    when its process was killed is in the send log without going out."""
    calls, again = scene.calls(kind), sent_again(scene.outbox)
    per_key: Counter[int] = Counter()
    cut_off: Counter[str] = Counter()
    for key in {m.idempotency_key for m in scene.messages(kind)}:
        out = (scene.outbox / filename_for(key)).exists() + again[key]
        per_key[out] += 1
        if calls[key] > out:
            cut_off[key] = calls[key] - out
    return Deliveries(per_key, cut_off)


def assert_once_despite_kill(found: Deliveries) -> None:
    """Each message went out once. The killed process wrote one message at a time (under
    the outbox's lock), so at most one call was cut off; it had sent nothing, and the
    re-run found nothing to recover and sent that message, once."""
    assert set(found.per_key) == {1}, str(found)
    assert sum(found.cut_off.values()) <= 1, found.cut_off


def links_work(scene: Scene) -> None:
    """The link in every remissmissiv that went out opens its answer page."""
    with session_scope(load_settings(scene.env).database_url) as session:
        hashes = {d.email: d.token_hash for d in session.scalars(select(Dispatch))}
    files = sorted(scene.outbox.glob("*missiv*.eml"))
    assert len(files) == N
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(r"/r/([A-Za-z0-9_-]+)", body.get_content())
        assert match, path.name
        assert hash_token(match.group(1)) == hashes[str(msg["To"])], path.name


# --- The scenarios ----------------------------------------------------------------------------


def test_two_workers_and_round_send_at_once_send_each_remiss_once(scene: Scene) -> None:
    """Three senders on one round: the start deployment on one worker, the send deployment
    on the other and `remiss round send` by hand. Each counts what the others sent."""
    began = time.monotonic()
    scene.start_workers(delay_ms=SLOW_MS)
    start_run = scene.run_deployment(START, {"case_path": str(scene.world.case)})
    round_id = wait_until(scene.round_id, "the round, stored by the worker", timeout=180)
    send_run = scene.run_deployment(SEND, {"round_id": round_id})
    cli = subprocess.Popen(
        [str(REMISS), "round", "send", str(round_id)],
        env=dict(scene.env, REMISS_TEST_SEND_DELAY_MS=str(SLOW_MS)),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stdout, stderr = cli.communicate(timeout=300)
    by_hand = subprocess.CompletedProcess(cli.args, cli.returncode, stdout, stderr)
    finished = scene.wait_finished(start_run, send_run)

    figures = deliveries(scene, "missiv")
    print(f"\n[two workers + round send] {N} remissinstanser; {figures}")
    assert figures.per_key == Counter({1: N}), "each remissinstans got its remiss once"
    # Nothing was killed: one call per key (two senders calling at once for one key would
    # show here as a second call, even though the outbox keeps one file).
    assert scene.calls("missiv") == Counter({k: 1 for k in scene.calls("missiv")})
    assert len(scene.calls("missiv")) == N
    assert_no_false_failure(by_hand)
    assert [r["state_type"] for r in finished] == ["COMPLETED", "COMPLETED"], finished

    # Each sender's sums: what it sent now is what the database recorded as its own, and
    # the rest of what it saw is counted as the others' work, never as a failure.
    runs = scene.no_alarm()
    assert all(r["state_type"] == "COMPLETED" for r in runs), runs
    (start_child,) = [r for r in runs if r["parent_task_run_id"]]
    (cli_run,) = [r for r in runs if not r["deployment_id"] and not r["parent_task_run_id"]]
    senders = {
        "start deployment": (logged_sums(scene, start_child["id"]), pid_of(finished[0])),
        "send deployment": (logged_sums(scene, send_run), pid_of(finished[1])),
        "remiss round send": (logged_sums(scene, cli_run["id"]), cli.pid),
    }
    printed = sums(by_hand.stdout)
    assert printed == senders["remiss round send"][0], by_hand.stdout
    recorded = sent_by(scene.messages("missiv"))
    for who, (counts, pid) in senders.items():
        print(f"  {who}: {summary(counts)}")
        # A run lists only unsent messages: what it finds sent, another process sent
        # meanwhile ("by_other"), never "already_sent".
        assert set(counts) <= {"sent", "by_other", "busy"}, (who, counts)
        assert counts.get("sent", 0) == recorded[pid], (who, counts, recorded)
        assert counts.get("sent", 0) <= sum(counts.values()) <= N, (who, counts)
    assert sum(c.get("sent", 0) for c, _ in senders.values()) == N
    # The operator's command did overlap a worker: it found messages not yet sent (one that
    # came too late prints "Inget behövde skickas."). The send deployment's flow process
    # starts later still; whether it found any is in the figures printed above.
    assert printed, f"`remiss round send` found nothing to do:\n{by_hand.stdout}"
    (rnd,) = status_json(scene.cli)["rounds"]
    assert rnd["counts"]["sent"] == N
    print(f"  false failures: 0; alarms: 0; {time.monotonic() - began:.0f} s")


def test_a_worker_killed_mid_fan_out_then_round_send_sends_each_remiss_once(
    scene: Scene,
) -> None:
    rng = random.Random(SEED)
    target, extra = rng.randint(3, N - 6), rng.uniform(0, 0.4)
    print(f"\n[kill -9 mid fan-out] seed {SEED} (REMISS_TEST_KILL_SEED): after {target} "
          f"sends + {extra:.2f} s")  # fmt: skip
    began = time.monotonic()
    scene.start_workers(delay_ms=400)
    start_run = scene.run_deployment(START, {"case_path": str(scene.world.case)})
    wait_for_sends(scene, "missiv", target, "the start deployment's fan-out")
    time.sleep(extra)
    run = scene.flow_run(start_run)
    flow_pid = pid_of(run)
    (worker,) = [w for w in scene.workers if flow_pid in descendants(w.pid)]
    killed = kill_worker_and_flow(worker)
    assert flow_pid in killed

    missiv = scene.messages("missiv")
    unsent = [m for m in missiv if m.state != MessageState.SENT]
    in_flight = sum(m.state == MessageState.SENDING for m in missiv)
    calls_before = sum(scene.calls("missiv").values())
    assert unsent, "the kill came after the fan-out: nothing left for the re-run"

    resumed = scene.cli("round", "send", str(scene.round_id()))
    assert_no_false_failure(resumed)
    printed = sums(resumed.stdout)
    figures = deliveries(scene, "missiv")
    print(f"  {N} remissinstanser; at the kill {calls_before} sent, {in_flight} in flight, "
          f"{len(unsent)} not marked sent; the re-run: {summary(printed or {})}; "
          f"{figures}")  # fmt: skip
    # With the outbox, find_sent finds what went out: a second copy never goes out.
    assert_once_despite_kill(figures)
    assert sum(figures.per_key.values()) == N
    assert printed is not None, resumed.stdout
    assert set(printed) <= {"sent", "recovered"}, printed
    assert printed.get("sent", 0) + printed.get("recovered", 0) == len(unsent), printed
    assert printed.get("recovered", 0) == scene.recovered() <= in_flight
    (rnd,) = status_json(scene.cli)["rounds"]
    assert (rnd["counts"]["sent"], rnd["counts"]["sending"]) == (N, 0)
    links_work(scene)
    # The killed runs are not Failed, so they raise no "misslyckades" alarm; marking them
    # Crashed (and that alarm) is tests/e2e/test_crashed_worker.py's.
    scene.no_alarm()
    print(f"  false failures: 0; alarms: 0; {time.monotonic() - began:.0f} s")


def test_a_worker_killed_mid_reminder_sweep_then_remind_sends_each_reminder_once(
    scene: Scene,
) -> None:
    rng = random.Random(SEED + 1)
    target, extra = rng.randint(3, N - 6), rng.uniform(0, 0.4)
    print(f"\n[kill -9 mid reminder sweep] seed {SEED} (REMISS_TEST_KILL_SEED): after "
          f"{target} reminders + {extra:.2f} s")  # fmt: skip
    began = time.monotonic()
    started = scene.cli("round", "start", str(scene.world.case))
    assert started.returncode == 0, started.stdout + started.stderr
    with session_scope(load_settings(scene.env).database_url) as session:
        due = set(session.scalars(select(Dispatch.next_reminder_at)))
    (as_of,) = due  # sent together: the same first reminder for all
    assert as_of is not None
    assert as_of > dt.datetime.now(dt.UTC)

    scene.start_workers(delay_ms=400)
    scene.run_deployment(REMIND, {"as_of": as_of.isoformat()})
    wait_for_sends(scene, "paminnelse", target, "the reminder sweep")
    time.sleep(extra)
    (worker,) = [w for w in scene.workers if descendants(w.pid)]
    kill_worker_and_flow(worker)

    reminders = scene.messages("paminnelse")
    assert len(reminders) == N, "the sweep claimed every due stage before sending"
    unsent = [m for m in reminders if m.state != MessageState.SENT]
    in_flight = sum(m.state == MessageState.SENDING for m in reminders)
    calls_before = sum(scene.calls("paminnelse").values())
    assert unsent, "the kill came after the sweep: nothing left for the re-run"

    resumed = scene.cli("remind", "--as-of", as_of.isoformat())
    assert_no_false_failure(resumed)
    printed = sums(resumed.stdout)
    figures = deliveries(scene, "paminnelse")
    print(f"  {N} reminders; at the kill {calls_before} sent, {in_flight} in flight, "
          f"{len(unsent)} not marked sent; the re-run: {summary(printed or {})}; "
          f"{figures}")  # fmt: skip
    assert_once_despite_kill(figures)
    assert sum(figures.per_key.values()) == N
    assert deliveries(scene, MessageKind.MISSIV).per_key == Counter({1: N})
    assert printed is not None, resumed.stdout
    assert set(printed) <= {"sent", "recovered"}, printed
    assert printed.get("sent", 0) + printed.get("recovered", 0) == len(unsent), printed
    assert all(m.state == MessageState.SENT for m in scene.messages("paminnelse"))
    scene.no_alarm()
    print(f"  false failures: 0; alarms: 0; {time.monotonic() - began:.0f} s")
