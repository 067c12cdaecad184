"""The larm flow that the automations run: one e-mail to the operator per event."""

from __future__ import annotations

import email
from email.policy import default as default_policy
from pathlib import Path

import pytest

from flows.alert import alert
from remiss.core.settings import Settings


def test_an_alert_mails_the_operator_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMISS_OPERATOR_ADDRESS", "drift@stockholm.example")
    subject = "Remissen studsade: Kulturnämnden – KS 2025/348"
    assert alert(subject, "550 5.1.1 Mottagaren finns inte", key="e1") == "sent"
    assert alert(subject, "550 5.1.1 Mottagaren finns inte", key="e1") == "already_sent"
    (path,) = Path(settings.outbox_dir).glob("larm*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert msg["To"] == "drift@stockholm.example"
    assert str(msg["Subject"]) == f"Larm från remisshanteringen: {subject}"


def test_an_alert_that_cannot_be_sent_does_not_fail(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failed alert run would itself raise the "flow run failed" alert: a loop.
    monkeypatch.setenv("REMISS_MAIL_BACKEND", "smtp")  # without a host: cannot be loaded
    assert alert("Flödeskörningen x misslyckades", "", key="e2") == "failed"
