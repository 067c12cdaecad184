"""Alerts for the operator: a remiss that bounced, a flow run that failed (automations
in deployments/prefect.yaml run this flow)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.dashboard import label_run, quietly
from remiss.core.settings import load_settings
from remiss.mail import load_mailer
from remiss.outbox.compose import render


@flow(name="larm")
def alert(subject: str, text: str, key: str, link: str = "") -> str:
    """Mail the operator once per key. Never fails: a failing alert must not raise another."""
    logger = get_run_logger()
    try:
        settings = load_settings()
        quietly(label_run, f"Larm: {subject}", ["larm"])
        mailer = load_mailer(settings)
        idempotency_key = f"larm/{key}"
        if mailer.find_sent(idempotency_key):
            return "already_sent"
        email = render(
            "larm",
            {"rubrik": subject, "text": text, "lank": link},
            key=idempotency_key,
            to=(settings.operator_address or settings.sender_address,),
            settings=settings,
        )
        mailer.send(email)
        logger.warning("Larm skickat: %s", subject)
        return "sent"
    except Exception as exc:
        logger.error("Larmet kunde inte skickas (%s): %s – %s", exc, subject, text)
        return "failed"
