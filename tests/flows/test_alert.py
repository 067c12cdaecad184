"""The larm flow that the automations run: the operator's alarm by e-mail and through a
Prefect notification block, retried, and never Completed unsent."""

from __future__ import annotations

import email
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import State, TaskRun

import flows.alert as alert_module
from flows.alert import alert
from remiss.core.errors import InputError
from remiss.core.settings import Settings, load_settings
from tests.support.mailers import send_calls

SUBJECT = "Remissen studsade: Kulturnämnden – KS 2025/348"
REASON = "550 5.1.1 Mottagaren finns inte"


@dataclass
class Webhook:
    """A loopback HTTP server standing in for Teams or Slack: records every request and
    answers with `status`."""

    url: str
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append({"path": self.path, "json": json.loads(body)})
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The path stands for the secret part of a real webhook's address.
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook/hemlig-token"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_waits(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alarm's retries without their back-off, and only the switches a test sets."""
    for name in ("mail_alarm_task", "block_alarm_task"):
        task = getattr(alert_module, name)
        monkeypatch.setattr(alert_module, name, task.with_options(retry_delay_seconds=0))
    for name in ("REMISS_ALARM_BLOCK", "REMISS_TEST_FLAKY", "REMISS_TEST_FAIL_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REMISS_OPERATOR_ADDRESS", "drift@stockholm.example")


def use_block(webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> str:
    """A custom webhook block pointed at the loopback server, named in REMISS_ALARM_BLOCK."""
    name = f"remiss-larm-{uuid.uuid4().hex[:8]}"
    CustomWebhookNotificationBlock(
        name="remiss-larm",
        url=webhook.url,
        json_data={"title": "{{subject}}", "text": "{{body}}"},
        headers=None,
        cookies=None,
    ).save(name)
    monkeypatch.setenv("REMISS_ALARM_BLOCK", f"custom-webhook/{name}")
    return name


def task_runs(state: State[Any]) -> list[TaskRun]:
    """The flow run's task runs, as Prefect's API has them."""
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        return client.read_task_runs(flow_run_filter=runs)


def attempts(state: State[Any], task_name: str) -> int:
    """How many times the flow run's task ran (1 when it was not retried)."""
    (run,) = [r for r in task_runs(state) if r.name.startswith(f"{task_name}-")]
    return run.run_count


def alarm_mails(settings: Settings) -> list[Path]:
    return sorted(Path(settings.outbox_dir).glob("larm*.eml"))


def test_an_alert_mails_the_operator_once(settings: Settings) -> None:
    assert alert(SUBJECT, REASON, key="e1") == "sent"
    assert alert(SUBJECT, REASON, key="e1") == "already_sent"
    (path,) = alarm_mails(settings)
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert msg["To"] == "drift@stockholm.example"
    assert str(msg["Subject"]) == f"Larm från remisshanteringen: {SUBJECT}"


def test_a_mail_server_that_fails_twice_gets_the_alarm_on_the_third_attempt(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_TEST_FLAKY", "2")
    state = alert(SUBJECT, REASON, key="e2", return_state=True)
    assert state.is_completed()
    assert state.result() == "sent"
    assert attempts(state, "larm-e-post") == 3
    assert len(alarm_mails(settings)) == 1
    assert send_calls(Path(settings.outbox_dir)) == {"larm/e2": 1}


def test_a_retry_after_a_lost_answer_does_not_send_the_alarm_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server took the alarm but the answer was lost: the retry finds it among the sent.
    monkeypatch.setenv("REMISS_TEST_LOST_REPLY", "1")
    state = alert(SUBJECT, REASON, key="e3", return_state=True)
    assert state.result() == "sent"
    assert attempts(state, "larm-e-post") == 2
    assert send_calls(Path(settings.outbox_dir)) == {"larm/e3": 1}


def test_every_alarm_goes_to_both_channels(
    settings: Settings, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_block(webhook, monkeypatch)
    assert alert(SUBJECT, REASON, key="e4", link="http://127.0.0.1:4200/runs/x") == "sent"
    assert len(alarm_mails(settings)) == 1
    (request,) = webhook.received
    assert request["json"]["title"] == f"Larm från remisshanteringen: {SUBJECT}"
    assert REASON in request["json"]["text"]
    assert "Mer i Prefect: http://127.0.0.1:4200/runs/x" in request["json"]["text"]


def test_when_the_mail_server_refuses_the_alarm_the_block_delivers_it(
    settings: Settings, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_TEST_FAIL_KEYS", "larm/")
    use_block(webhook, monkeypatch)
    state = alert(SUBJECT, REASON, key="e5", return_state=True)
    assert state.is_completed()
    assert state.result() == "sent_by_block"
    assert alarm_mails(settings) == []
    (request,) = webhook.received
    assert request["path"] == "/hook/hemlig-token"
    assert request["json"]["title"] == f"Larm från remisshanteringen: {SUBJECT}"
    assert request["json"]["text"].startswith(f"{SUBJECT}\n\n{REASON}\n")


def test_an_alarm_that_no_channel_can_send_fails_the_run(
    settings: Settings, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_TEST_FLAKY", "100")
    name = use_block(webhook, monkeypatch)
    webhook.status = 503
    state = alert(SUBJECT, REASON, key="e6", return_state=True)
    assert state.is_failed()
    assert state.message == (
        f"Larmet kunde inte skickas, varken med e-post eller via Prefect-blocket "
        f"custom-webhook/{name}. Rubrik: {SUBJECT}. Senaste fel med e-post: servern är "
        "upptagen, försök igen senare; med blocket: HTTP 503 Service Unavailable. Larmets "
        "text står i körningens logg; kör om körningen när felet är åtgärdat."
    )
    # The webhook's address is its secret: neither the run nor its tasks show it.
    assert "hemlig-token" not in (state.message or "")
    for run in task_runs(state):
        assert run.state is not None
        assert "hemlig-token" not in (run.state.message or "")
    # Every channel was tried four times (once, and three retries).
    assert len(webhook.received) == 4
    assert attempts(state, "larm-e-post") == 4
    assert alarm_mails(settings) == []


def test_an_alarm_without_a_second_channel_fails_when_the_mail_cannot_be_sent(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Replaces the old "never fails": an alarm lost without a word is what must not happen.
    monkeypatch.setenv("REMISS_MAIL_BACKEND", "smtp")  # without a host: cannot be loaded
    state = alert("Flödeskörningen x misslyckades", "", key="e7", return_state=True)
    assert state.is_failed()
    assert state.message == (
        "Larmet kunde inte skickas med e-post, och ingen annan larmkanal är inställd "
        "(alarm_block). Rubrik: Flödeskörningen x misslyckades. Senaste fel: fältet "
        "smtp_host: mail_backend: smtp kräver en SMTP-server (REMISS_SMTP_HOST). Larmets "
        "text står i körningens logg; kör om körningen när felet är åtgärdat."
    )
    # Settings that are wrong stay wrong: no retries.
    assert attempts(state, "larm-e-post") == 1


def test_an_alarm_about_a_failed_alarm_run_is_not_sent_on(settings: Settings) -> None:
    # Should the automation not exclude the larm flow's own runs, no loop starts here.
    subject = f"Flödeskörningen Larm: {SUBJECT} misslyckades"
    assert alert(subject, "Larmet kunde inte skickas", key="e8") == "ignored"
    assert alarm_mails(settings) == []


def test_the_alarm_block_setting_names_a_block_by_type_and_name(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_ALARM_BLOCK", "ms-teams-webhook/remiss-larm")
    assert load_settings().alarm_block == "ms-teams-webhook/remiss-larm"
    monkeypatch.setenv("REMISS_ALARM_BLOCK", "remiss-larm")
    with pytest.raises(InputError, match="ska vara blockets typ och namn"):
        load_settings()
