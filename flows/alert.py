"""Alerts for the operator: a remiss that bounced, a flow run that failed (automations
in deployments/prefect.yaml run this flow).

An alarm goes out on two channels that do not depend on each other: an e-mail to
`operator_address`, and, when `alarm_block` names one, a Prefect notification block (a
Teams or Slack webhook, a custom webhook …), since the mail server may be what broke.
Each channel is retried with back-off. The run is Completed only when at least one
channel delivered the alarm; otherwise it ends Failed, with a message that says what
could not be sent, so that the operator sees it among the failed runs in the dashboard.
"""

from __future__ import annotations

import re
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.blocks.abstract import NotificationBlock, NotificationError
from prefect.blocks.core import Block
from prefect.client.schemas.objects import State
from prefect.runtime import task_run
from prefect.states import Failed
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.dashboard import label_run, quietly
from remiss.core.errors import InputError, RemissError
from remiss.core.settings import load_settings
from remiss.mail import MailError, OutgoingEmail, PermanentMailError, load_mailer
from remiss.outbox.compose import render

# Back-off between the attempts of each channel: four attempts within about 100 s.
ALARM_RETRY_DELAYS = [10, 30, 60]

# The subject the "flow run failed" automation gives an alarm about a run of this flow
# (its runs are named "Larm: …"). Such an alarm is dropped: the failed larm run already
# is the operator's notice, and an alarm that cannot be sent must not set off another.
_ABOUT_AN_ALARM_RUN = re.compile(r"^Flödeskörningen Larm: ")

_RERUN = "Larmets text står i körningens logg; kör om körningen när felet är åtgärdat."

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def describe(exc: BaseException) -> str:
    """An error as one line for the operator: no traceback, and no address (a webhook's
    address is its secret, and a URL may carry a password)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):  # httpx.HTTPStatusError: its text repeats the URL
        return f"HTTP {status} {getattr(response, 'reason_phrase', '')}".strip()
    if isinstance(exc, NotificationError):
        # An Apprise block's error has nothing but the log of the attempt: its last line.
        lines = [line for line in exc.log.splitlines() if line.strip()]
        text = re.sub(r"^\[[A-Z]+\]:\s*", "", lines[-1]) if lines else ""
    else:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        text = lines[0].strip() if lines else ""
    text = _URL.sub("[adress dold]", text)
    if not isinstance(exc, MailError | RemissError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:300]


class AlarmChannelError(RemissError):
    """A channel's failure, told without the address or secret the original error carried."""


def _worth_retrying(_task: object, _run: object, state: Any) -> bool:
    """Settings that are wrong, or a recipient the server refuses, stay so on a retry."""
    return not isinstance(state.result(raise_on_failure=False), PermanentMailError | InputError)


_RETRIES: dict[str, Any] = {
    "retries": len(ALARM_RETRY_DELAYS),
    "retry_delay_seconds": ALARM_RETRY_DELAYS,
    "retry_condition_fn": _worth_retrying,
}


@task(name="larm-e-post", **_RETRIES)
def mail_alarm_task(email: OutgoingEmail) -> str:
    """The alarm by e-mail. A retry first asks the mail server whether an earlier attempt
    got through after all, so that the operator never gets it twice."""
    try:
        mailer = load_mailer(load_settings())
        if (task_run.run_count or 1) > 1 and mailer.find_sent(email.idempotency_key):
            return "sent"
        mailer.send(email)
    except (MailError, RemissError):
        raise
    except Exception as exc:
        raise AlarmChannelError(describe(exc)) from None
    return "sent"


@task(name="larm-block", **_RETRIES)
def block_alarm_task(block_name: str, subject: str, body: str) -> str:
    """The alarm through the Prefect notification block named by `alarm_block`."""
    try:
        block: Any = Block.load(block_name)
    except ValueError as exc:  # no such block document, or no such block type
        raise InputError(
            "det finns inget sådant Prefect-block", field="alarm_block", value=block_name
        ) from exc
    if not isinstance(block, NotificationBlock):
        raise InputError(
            f"blocket är av typen {type(block).__name__}, inte ett aviseringsblock",
            field="alarm_block",
            value=block_name,
        )
    try:
        # Apprise-based blocks (Teams, Slack …) only log a failure unless asked to raise.
        with block.raise_on_failure():
            result = block.notify(body, subject)
            if result is not None:  # a block whose notify is async only
                run_coro_as_sync(result)
    except Exception as exc:
        # httpx's errors name the webhook's address, which is the webhook's secret.
        raise AlarmChannelError(describe(exc)) from None
    return "sent_by_block"


@flow(name="larm")
def alert(subject: str, text: str, key: str, link: str = "") -> str | State[Any]:
    """Send the alarm on every channel; Completed only when at least one delivered it."""
    logger = get_run_logger()
    quietly(label_run, f"Larm: {subject}", ["larm"])
    if _ABOUT_AN_ALARM_RUN.match(subject):
        logger.warning(
            "Larmet gäller en larmkörning som misslyckades och skickas inte vidare "
            "(den misslyckade körningen syns i översikten): %s",
            subject,
        )
        return "ignored"
    try:
        settings = load_settings()
        email = render(
            "larm",
            {"rubrik": subject, "text": text, "lank": link},
            key=f"larm/{key}",
            to=(settings.operator_address or settings.sender_address,),
            settings=settings,
        )
    except Exception as exc:
        logger.error("Larmet kunde inte skickas: %s – %s", subject, text)
        return Failed(
            message=f"Larmet kunde inte skickas: inställningarna eller mallen kunde inte "
            f"läsas ({describe(exc)}). Rubrik: {subject}. {_RERUN}"
        )
    if _found_sent(email.idempotency_key):
        # An earlier run of this alarm delivered it (an automation that fired twice, a re-run).
        return "already_sent"
    by_mail = mail_alarm_task.submit(email)
    by_block = (
        block_alarm_task.submit(settings.alarm_block, email.subject, email.text)
        if settings.alarm_block
        else None
    )
    by_mail.wait()
    mail_error = _error_of(by_mail.state)
    block_error = None
    if by_block is not None:
        by_block.wait()
        block_error = _error_of(by_block.state)
    block = f"via Prefect-blocket {settings.alarm_block}"
    if mail_error is None:
        if by_block is None:
            logger.warning("Larm skickat med e-post: %s", subject)
        elif block_error is None:
            logger.warning("Larm skickat med e-post och %s: %s", block, subject)
        else:
            logger.error(
                "Larm skickat med e-post, men inte %s (%s): %s", block, block_error, subject
            )
        return "sent"
    if by_block is not None and block_error is None:
        logger.error("Larm skickat %s, men inte med e-post (%s): %s", block, mail_error, subject)
        return "sent_by_block"
    logger.error("Larmet kunde inte skickas: %s – %s", subject, text)
    if by_block is None:
        message = (
            f"Larmet kunde inte skickas med e-post, och ingen annan larmkanal är inställd "
            f"(alarm_block). Rubrik: {subject}. Senaste fel: {mail_error}."
        )
    else:
        message = (
            f"Larmet kunde inte skickas, varken med e-post eller {block}. Rubrik: {subject}. "
            f"Senaste fel med e-post: {mail_error}; med blocket: {block_error}."
        )
    return Failed(message=f"{message} {_RERUN}")


def _found_sent(idempotency_key: str) -> bool:
    """Whether the mail server already has this alarm; when it cannot tell, it has not."""
    try:
        return bool(load_mailer(load_settings()).find_sent(idempotency_key))
    except Exception as exc:
        get_run_logger().warning(
            "Kunde inte se efter om larmet redan har skickats (%s); det skickas", describe(exc)
        )
        return False


def _error_of(state: State[Any] | None) -> str | None:
    """None when the task delivered; otherwise its last error, for the operator."""
    if state is None or state.is_completed():
        return None
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        return describe(result)
    return state.message or state.type.value
