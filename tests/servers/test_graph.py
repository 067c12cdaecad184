"""The Microsoft Graph backend against the Graph test server (tests/support/graph_server.py),
driven by the real msal and requests: sending exactly once under faults, throttling, token
renewal, large attachments, the delta poll stopped midway (tests/e2e kills it for real), and
`remiss mail check`'s explanations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from remiss.core.dates import deadline_end, utcnow
from remiss.core.errors import InputError, RemissError
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Event, InboundMail
from remiss.inbox import poll as inbox
from remiss.mail import check_backend, load_mailbox, load_mailer
from remiss.mail.base import Attachment, InboxItem, OutgoingEmail, TemporaryMailError
from remiss.mail.graph import (
    PROCESSED_CATEGORY,
    GraphAccessError,
    GraphMailbox,
    GraphMailer,
    clear_tokens,
)
from remiss.outbox.sending import send_batch
from remiss.rounds import start as rounds_start
from remiss.rounds.status import status_document
from remiss.storage.uploads import upload_limits
from tests.conftest import SettingsFactory, future_deadline
from tests.support.documents import pdf_bytes
from tests.support.graph_server import App, GraphServer
from tests.support.incoming import read_receipt, reply, report
from tests.support.worlds import address, build_world, working_day_ahead

BOX = "remiss@stockholm.example"
APPS = {
    "remiss-app": App("app-hemlighet", mailboxes=(BOX,)),
    "utan-medgivande": App("hemlighet-2", roles=()),
    "bara-last": App("hemlighet-3", roles=("Mail.ReadWrite",)),
    "annan-brevlada": App("hemlighet-4", mailboxes=("annan@stockholm.example",)),
}


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with GraphServer(APPS, mailboxes=[BOX, "annan@stockholm.example"]) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    clear_tokens()  # msal's applications (and tokens) live per process
    yield
    clear_tokens()


@pytest.fixture
def graph_env(graph: GraphServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("REMISS_GRAPH_SECRET", "app-hemlighet")
    return {
        "REMISS_MAIL_BACKEND": "graph",
        "REMISS_GRAPH_URL": graph.url,
        "REMISS_GRAPH_AUTHORITY": graph.authority,
        "REMISS_GRAPH_TENANT_ID": graph.tenant,
        "REMISS_GRAPH_CLIENT_ID": "remiss-app",
        "REMISS_GRAPH_CA_FILE": str(graph.ca_file),
        "REMISS_EWS_TIMEOUT_SECONDS": "1",
        "REMISS_EWS_MAX_WAIT_SECONDS": "5",
    }


@pytest.fixture
def settings(
    make_settings: SettingsFactory, database_url: str, graph_env: dict[str, str]
) -> Settings:
    s = make_settings(database_url, **graph_env)
    rounds_start.init(s, now=utcnow())
    return s


def start(
    settings: Settings, case: Path, to: list[str] | None, deadline: str | None = None
) -> list[int]:
    round_id = rounds_start.prepare_round(
        settings,
        case,
        now=utcnow(),
        to=to,
        deadline=deadline or future_deadline().isoformat(),
    )
    return rounds_start.pending_missiv(settings, round_id)


def mime(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def sent_keys(graph: GraphServer) -> Counter[str]:
    return Counter(str(m.key) for m in graph.sent_log)


def send_until_done(
    settings: Settings, ids: list[int], mailer: GraphMailer | None = None, attempts: int = 30
) -> list[str]:
    """What the send task does: what failed for now, again, until nothing is left to try."""
    mailer = mailer or GraphMailer(settings)
    results: dict[int, str] = {}
    todo = list(ids)
    for _ in range(attempts):
        outcomes = send_batch(todo, settings=settings, mailer=mailer, now=utcnow())
        results.update((i, o.result) for i, o in zip(todo, outcomes, strict=True))
        todo = [i for i in todo if results[i] == "unsent"]
        if not todo:
            return [results[i] for i in ids]
    raise AssertionError("still not sent")


def poll(settings: Settings, mailbox: GraphMailbox | None = None) -> inbox.PollResult:
    return inbox.poll(
        settings,
        mailbox or GraphMailbox(settings),
        now=utcnow(),
        limits=upload_limits(settings),
    )


def progress(settings: Settings) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        doc = status_document(session, now=utcnow(), tz=settings.timezone)
    return {d["code"]: d for d in doc["rounds"][0]["dispatches"]}


def recorded(settings: Settings) -> Counter[str]:
    with session_scope(settings.database_url) as session:
        return Counter(session.scalars(select(InboundMail.kind)))


def test_a_round_runs_end_to_end_through_graph(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["rad"])
    assert isinstance(load_mailer(settings), GraphMailer)
    assert isinstance(load_mailbox(settings), GraphMailbox)

    results = send_until_done(settings, ids)

    assert results == ["sent"] * 5
    assert set(sent_keys(graph).values()) == {1}
    assert len(graph.items(BOX, "sentitems")) == 5
    for sent in graph.sent_log:
        assert sent.headers["X-Remiss-Key"] == sent.key
        assert any(name.endswith(".pdf") for name, _ in sent.attachments)
    # The reply, the reports and a receipt arrive in the inbox as Exchange Online files them.
    by_code = {code: d["email"] for code, d in progress(settings).items()}
    kpr = next(m for m in graph.sent_log if by_code["kpr"] in m.recipients)
    konst = next(m for m in graph.sent_log if by_code["konstradet"] in m.recipients)
    skon = next(m for m in graph.sent_log if by_code["skonhetsradet"] in m.recipients)
    graph.deliver(
        BOX,
        reply(
            mime(kpr.mime),
            sender="registrator.kpr@stockholm.example",
            files=(("yttrande.pdf", pdf_bytes("Rådets yttrande"), "application/pdf"),),
        ),
    )
    graph.deliver(BOX, report(mime(konst.mime), action="failed"), "REPORT.IPM.Note.NDR")
    graph.deliver(BOX, report(mime(skon.mime), action="delivered"), "REPORT.IPM.Note.DR")
    graph.deliver(BOX, read_receipt(mime(skon.mime), reader=by_code["skonhetsradet"]))
    graph.deliver(BOX, reply(mime(skon.mime), auto=True, subject="Automatiskt svar: frånvaro"))

    result = poll(settings)

    assert len(result.answers) == 1
    assert (result.delivered, len(result.bounced), result.read_receipts) == (1, 1, 1)
    assert result.auto_replies == 1
    state = progress(settings)
    assert state["kpr"]["answer"]["files"][0]["filename"] == "yttrande.pdf"
    assert state["konstradet"]["progress"] == "bounced"
    assert graph.items(BOX, "inbox") == []
    processed = graph.items(BOX, "Remiss behandlade")
    assert len(processed) == 5
    assert all(PROCESSED_CATEGORY in item.categories and item.is_read for item in processed)
    assert poll(settings).read == 0  # the delta link goes on after what was read
    graph.deliver(BOX, reply(mime(kpr.mime), subject="En fråga om remissen"))
    again = poll(settings)
    assert (again.read, again.unmatched) == (1, 1)  # no document: to the registrator
    assert len(graph.items(BOX, "Remiss omatchade")) == 1


def test_each_remissmissiv_is_flagged_in_outlook_until_its_svarsdag_ends(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["kpr"])

    assert send_until_done(settings, ids) == ["sent"]

    due = deadline_end(future_deadline(), settings.timezone)
    (item,) = graph.items(BOX, "sentitems")
    # The sent item is flagged for the handläggare, from the start to the svarsdag.
    flag = item.data["flag"]
    assert flag["flagStatus"] == "flagged"
    assert flag["dueDateTime"]["timeZone"] == "UTC"
    assert dt.datetime.fromisoformat(flag["dueDateTime"]["dateTime"] + "Z") == due
    assert dt.datetime.fromisoformat(flag["startDateTime"]["dateTime"] + "Z") <= utcnow()
    # The recipient's copy carries the flag request and the reply-by time.
    (sent,) = graph.sent_log
    received = mime(sent.mime)
    assert received["X-Message-Flag"] == "Svara på remissen"
    assert email.utils.parsedate_to_datetime(str(received["Reply-By"])) == due


def test_a_fan_out_makes_twenty_drafts_in_one_batch_and_sends_them_in_another(
    make_settings: SettingsFactory, graph: GraphServer, graph_env: dict[str, str], tmp_path: Path
) -> None:
    world = build_world(tmp_path, 45, working_day_ahead(6))
    settings = make_settings(
        f"sqlite:///{tmp_path / 'batch.db'}", REMISS_REGISTER=str(world.register), **graph_env
    )
    rounds_start.init(settings, now=utcnow())
    ids = start(settings, world.case, None, world.deadline)
    graph.refused = {address(7)}

    results = send_until_done(settings, ids, attempts=1)

    assert results.count("sent") == 44
    assert graph.calls.count("batch") == 6  # 20 + 20 + 5, each made and sent
    assert graph.calls.count("create") == graph.calls.count("send") == 45
    assert len(graph.items(BOX, "drafts")) == 1  # the one Exchange Online refused
    assert progress(settings)["instans_0007"]["progress"] == "failed"
    assert set(sent_keys(graph).values()) == {1}


def test_a_request_throttled_inside_a_batch_is_sent_again_as_retry_after_says(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["rad"])
    graph.fail_next("send", "429", count=2, retry_after=0.2)
    graph.fail_next("create", "503", retry_after=0.1)

    assert send_until_done(settings, ids, attempts=1) == ["sent"] * 5

    assert graph.calls.count("batch") == 4  # drafts, the one again; sends, the two again
    assert set(sent_keys(graph).values()) == {1}
    assert len(sent_keys(graph)) == 5


def test_a_batch_whose_answer_is_lost_after_sending_is_recovered_not_resent(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["rad"])
    graph.fail_next("send", "timeout_after", hang=2)  # the sending batch's answer is lost

    first = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())
    assert [o.result for o in first] == ["unsent"] * 5
    assert len(graph.sent_log) == 5  # Graph sent them all; we could not know
    before = graph.http_requests

    second = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert [o.result for o in second] == ["recovered"] * 5
    assert len(graph.sent_log) == 5
    assert graph.http_requests == before + 1  # the five looked up in one $batch


def test_a_timeout_after_graph_sent_the_message_is_recovered_not_resent(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["kpr"])
    graph.fail_next("send", "timeout_after", hang=2)
    mailer = GraphMailer(settings)
    first = send_batch(ids, settings=settings, mailer=mailer, now=utcnow())
    assert [o.result for o in first] == ["unsent"]
    assert len(graph.sent_log) == 1  # Graph did send it; we could not know

    second = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert [o.result for o in second] == ["recovered"]
    assert len(graph.sent_log) == 1


def test_a_draft_left_unsent_by_a_dropped_connection_is_sent_not_duplicated(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["kpr"])
    graph.fail_next("send", "drop_before")
    assert [
        o.result
        for o in send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())
    ] == ["unsent"]
    assert graph.sent_log == []
    assert len(graph.items(BOX, "drafts")) == 1

    outcomes = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert [o.result for o in outcomes] == ["sent"]
    assert graph.calls.count("create") == 1  # the draft found by its key was sent as it was
    assert graph.items(BOX, "drafts") == []
    assert set(sent_keys(graph).values()) == {1}


def test_a_300_recipient_round_with_30_percent_of_calls_failing_goes_out_exactly_once(
    make_settings: SettingsFactory, graph: GraphServer, graph_env: dict[str, str], tmp_path: Path
) -> None:
    world = build_world(tmp_path, 300, working_day_ahead(6))
    settings = make_settings(
        f"sqlite:///{tmp_path / 'faults.db'}", REMISS_REGISTER=str(world.register), **graph_env
    )
    # Timeouts after acceptance cost a client timeout each: keep both short here.
    settings = dataclasses.replace(settings, ews_timeout_seconds=0.25)  # type: ignore[arg-type]
    rounds_start.init(settings, now=utcnow())
    ids = start(settings, world.case, None, world.deadline)
    assert len(ids) == 300
    graph.fail_rate(0.3, seed=20261123, retry_after=0.01, hang=0.3)
    mailer = GraphMailer(settings)
    results: list[str] = []
    for i in range(0, len(ids), settings.graph_batch_size):
        results += send_until_done(settings, ids[i : i + settings.graph_batch_size], mailer)
    graph.clear_faults()

    assert set(results) <= {"sent", "recovered"}
    assert "recovered" in results, "some messages were sent although their call failed"
    with session_scope(settings.database_url) as session:
        retries = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "send_retry")
        )
    assert retries
    keys = sent_keys(graph)
    assert len(keys) == 300
    assert set(keys.values()) == {1}, "a message went out twice"
    to = Counter(r for m in graph.sent_log for r in m.recipients)
    assert to == Counter({address(i): 1 for i in range(1, 301)})


def test_429_and_503_are_waited_out_as_retry_after_says(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["kpr"])
    graph.fail_next("create", "429", count=2, retry_after=0.2)
    graph.fail_next("send", "503", count=1, retry_after=0.2)

    outcomes = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert [o.result for o in outcomes] == ["sent"]
    assert (graph.calls.count("create"), graph.calls.count("send")) == (3, 2)


def test_throttling_longer_than_the_budget_is_a_temporary_failure_and_nothing_is_sent(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["kpr"])
    graph.fail_next("create", "429", count=1, retry_after=30)

    outcomes = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert [o.result for o in outcomes] == ["unsent"]
    assert "ews_max_wait_seconds" in str(progress(settings)["kpr"]["last_error"])
    assert graph.sent_log == []


def test_a_token_revoked_mid_run_is_fetched_again_once(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["rad"])
    mailer = GraphMailer(settings)
    send_batch(ids[:2], settings=settings, mailer=mailer, now=utcnow())
    assert graph.tokens_issued == 1  # msal's cache served every call

    graph.expire_tokens()
    outcomes = send_batch(ids[2:], settings=settings, mailer=mailer, now=utcnow())

    assert {o.result for o in outcomes} == {"sent"}
    assert graph.tokens_issued == 2
    assert set(sent_keys(graph).values()) == {1}
    assert len(graph.sent_log) == 5


def test_a_large_attachment_goes_through_an_upload_session(
    settings: Settings, graph: GraphServer
) -> None:
    big = bytes(range(256)) * (5 * 4096)  # 5 MiB
    message = OutgoingEmail(
        idempotency_key="stor-bilaga",
        to=("kpr@stockholm.example",),
        subject="Remiss med stor bilaga",
        text="Se bilagan.",
        html="<p>Se bilagan.</p>",
        sender=BOX,
        sender_name="Stadsledningskontoret",
        attachments=(
            Attachment("liten.pdf", "application/pdf", b"%PDF-1.4 liten"),
            Attachment("stor.pdf", "application/pdf", big),
        ),
    )
    # 5 MB through a loaded loopback server: more than the fixture's 1 s timeout.
    GraphMailer(dataclasses.replace(settings, ews_timeout_seconds=30)).send(message)

    (sent,) = graph.sent_log
    assert dict(sent.attachments) == {"liten.pdf": 14, "stor.pdf": len(big)}
    assert graph.calls.count("upload") == 2  # two chunks of at most 3.2 MB
    stored = next(p for p in mime(sent.mime).iter_attachments() if p.get_filename() == "stor.pdf")
    assert stored.get_content() == big


def test_an_address_graph_refuses_fails_only_its_own_message_for_good(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["rad"])
    refused = progress(settings)["konstradet"]["email"]
    graph.refused = {refused}

    outcomes = send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert Counter(o.result for o in outcomes) == {"sent": 4, "failed": 1}
    error = progress(settings)["konstradet"]["last_error"]
    assert error.startswith("Exchange Online tog inte emot mottagarens adress (")
    assert "Rätta adressen" in error


def test_missing_consent_stops_the_send_with_a_swedish_message_and_fails_nothing(
    make_settings: SettingsFactory,
    database_url: str,
    graph_env: dict[str, str],
    graph: GraphServer,
    monkeypatch: pytest.MonkeyPatch,
    case_dir: Path,
) -> None:
    monkeypatch.setenv("REMISS_GRAPH_SECRET", "hemlighet-2")
    settings = make_settings(
        database_url, **{**graph_env, "REMISS_GRAPH_CLIENT_ID": "utan-medgivande"}
    )
    rounds_start.init(settings, now=utcnow())
    ids = start(settings, case_dir / "arende.yaml", ["kpr"])

    with pytest.raises(GraphAccessError, match="administratörsmedgivande"):
        send_batch(ids, settings=settings, mailer=GraphMailer(settings), now=utcnow())

    assert progress(settings)["kpr"]["state"] != "failed"
    assert graph.sent_log == []


def test_a_poll_stopped_at_each_step_and_run_again_records_each_item_once(
    settings: Settings, graph: GraphServer, case_dir: Path
) -> None:
    ids = start(settings, case_dir / "arende.yaml", ["rad"])
    send_until_done(settings, ids)
    for sent in graph.sent_log:
        graph.deliver(BOX, report(mime(sent.mime), action="delivered"), "REPORT.IPM.Note.DR")
        graph.deliver(
            BOX,
            reply(mime(sent.mime), files=(("svar.pdf", pdf_bytes("Svar"), "application/pdf"),)),
        )

    class Killed(Exception):
        pass

    class DiesWhileFiling(GraphMailbox):
        """Killed after recording the third item, before it was moved."""

        filed = 0

        def file(self, item: InboxItem, folder: Any) -> None:
            self.filed += 1
            if self.filed == 3:
                raise Killed
            super().file(item, folder)

    class DiesWhileReading(GraphMailbox):
        """Killed after the delta pages were stored, while fetching the items."""

        def _item(self, item_id: str) -> InboxItem | None:
            raise Killed

    with pytest.raises(Killed):
        poll(settings, DiesWhileFiling(settings))
    with pytest.raises(Killed):
        poll(settings, DiesWhileReading(settings))
    first = poll(
        settings,
        GraphMailbox(
            settings,
        ),
    )
    rest = poll(settings)

    assert first.already_recorded == 1  # recorded before the kill, only moved now
    assert first.read + 2 == 10
    assert rest.read == 0
    assert recorded(settings) == Counter({"delivered": 5, "answer": 5})
    assert graph.items(BOX, "inbox") == []
    assert len(graph.items(BOX, "Remiss behandlade")) == 10


def test_the_poll_keeps_its_delta_link_under_data_dir(
    settings: Settings, graph: GraphServer
) -> None:
    mailbox = GraphMailbox(settings)
    assert poll(settings, mailbox).read == 0
    assert mailbox.state_path.is_relative_to(settings.data_dir)
    assert "$deltatoken=" in mailbox.state_path.read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"REMISS_GRAPH_TENANT_ID": "fel.onmicrosoft.example"},
            "Klientorganisationen .* finns inte",
        ),
        ({"secret": "fel"}, "Klienthemligheten för Microsoft Graph är fel"),
        ({"REMISS_GRAPH_CLIENT_ID": "okand-app"}, "finns inte i klientorganisationen"),
        (
            {"REMISS_GRAPH_CLIENT_ID": "utan-medgivande", "secret": "hemlighet-2"},
            "administratörsmedgivande",
        ),
        (
            {"REMISS_GRAPH_CLIENT_ID": "bara-last", "secret": "hemlighet-3"},
            "saknar programbehörigheten Mail.Send",
        ),
        (
            {"REMISS_GRAPH_CLIENT_ID": "annan-brevlada", "secret": "hemlighet-4"},
            "Åtkomstpolicyn för appen stänger ute brevlådan",
        ),
        ({"REMISS_GRAPH_MAILBOX": "finns.inte@stockholm.example"}, "finns inte i Exchange Online"),
    ],
)
def test_mail_check_explains_each_misconfiguration_in_swedish(
    make_settings: SettingsFactory,
    graph_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str],
    message: str,
) -> None:
    env = dict(graph_env)
    for key, value in change.items():
        if key == "secret":
            monkeypatch.setenv("REMISS_GRAPH_SECRET", value)
        else:
            env[key] = value
    with pytest.raises(RemissError, match=message):
        check_backend(make_settings(**env))


def test_mail_check_reports_what_it_found(
    make_settings: SettingsFactory, graph_env: dict[str, str]
) -> None:
    lines = check_backend(make_settings(**graph_env))
    assert "Token: hämtad" in lines
    assert "Inkorgen: 0 meddelanden, 0 olästa" in lines
    assert "Behörighet att skicka: Mail.Send" in lines
    assert "Mappen Remiss omatchade: finns inte ännu (skapas vid första läsningen)" in lines


def test_missing_secret_is_a_clear_input_error(
    make_settings: SettingsFactory, graph_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMISS_GRAPH_SECRET")
    with pytest.raises(InputError, match="REMISS_GRAPH_SECRET"):
        check_backend(make_settings(**graph_env))


def test_an_unreachable_authority_is_temporary(
    make_settings: SettingsFactory, graph_env: dict[str, str]
) -> None:
    settings = make_settings(**{**graph_env, "REMISS_GRAPH_AUTHORITY": "https://127.0.0.1:9"})
    with pytest.raises(TemporaryMailError, match="Kunde inte nå inloggningstjänsten"):
        GraphMailer(settings).find_sent("nyckel")
