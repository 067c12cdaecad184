"""Start a remiss round: validate and store it, then send one remissmissiv per remissinstans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.dashboard import label_round_run, publish_events, publish_round, quietly
from flows.messages import send_in_batches
from flows.retries import DB_RETRIES
from remiss.core.dates import utcnow
from remiss.core.errors import InputError, RemissError
from remiss.core.settings import load_settings
from remiss.outbox.outcomes import SendResult, problems, summary, tally
from remiss.rounds import start as rounds_start


class RoundIncomplete(RemissError):
    """Some remissmissiv could not be sent; the round is stored and can be resumed."""


@task(name="förbered-remissomgång")
def prepare_round_task(
    case_path: str,
    to: list[str] | None,
    deadline: str | None,
    force: bool,
    new_round: bool,
) -> int:
    settings = load_settings()
    return rounds_start.prepare_round(
        settings,
        Path(case_path),
        now=utcnow(),
        to=to,
        deadline=deadline,
        force=force,
        new_round=new_round,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
    )


@flow(
    name="skicka-remissomgång",
    task_runner=ThreadPoolTaskRunner[Any](max_workers=4),  # type: ignore[arg-type]  # Prefect types its runners invariantly
)
def send_round(round_id: int) -> dict[str, int]:
    """Send every remissmissiv of a round that has not gone out yet.

    Ends Failed only when some message has not reached its recipient and no process is
    at work on it; a message another process sends (a worker beside `remiss round send`)
    is counted, not reported as a failure. The Failed state carries the Swedish message
    without a traceback: the operator reads it in the CLI and in the dashboard.
    """
    settings = load_settings()
    quietly(label_round_run, round_id, "utskick")
    ids = rounds_start.pending_missiv(settings, round_id)
    counts = tally(send_in_batches(ids))
    quietly(publish_round, round_id)
    quietly(publish_events)
    if problems(counts):
        message = (
            f"{problems(counts)} av {len(ids)} utskick i omgång {round_id} har inte gått "
            f"iväg. {summary(counts)} Se `remiss status {round_id}`"
            + (
                f" och kör `remiss round send {round_id}` igen."
                if counts.get(SendResult.UNSENT)
                else "."
            )
        )
        get_run_logger().error("%s", message)
        # A returned state becomes the run's own: a caller gets RoundIncomplete raised.
        return Failed(message=message, data=RoundIncomplete(message))  # type: ignore[return-value]
    return counts


@flow(name="starta-remissomgång")
def start_round(
    case_path: str,
    to: list[str] | None = None,
    deadline: str | None = None,
    force: bool = False,
    new_round: bool = False,
) -> int:
    """Validate the case, store the round, then fan out one send per remissinstans."""
    round_id = prepare_round_task(case_path, to, deadline, force, new_round)
    quietly(label_round_run, round_id, "start")
    sent = send_round(round_id, return_state=True)
    if sent.is_failed():
        message = sent.message or ""
        return Failed(message=message, data=RoundIncomplete(message))  # type: ignore[return-value]
    return round_id


@task(name="spara-omgång-från-utkast", **DB_RETRIES)
def create_round_from_draft_task(draft_id: int) -> int:
    return rounds_start.create_round_from_draft(
        load_settings(),
        draft_id,
        now=utcnow(),
        flow_run_id=str(flow_run.id) if flow_run.id else None,
    )


@flow(name="starta-remissomgång-från-utkast")
def start_round_from_draft(draft_id: int) -> int:
    """The workspace's "Skicka" (the job `starta`): store the round of a draft being
    started, then send its remissmissiv as `send_round` does. Safe to run again: a draft
    already started gives its round, and only what has not gone out is sent."""
    try:
        round_id = create_round_from_draft_task(draft_id)
    except InputError as exc:
        # Checked when "Skicka" was pressed; no longer true (the deadline has passed, a code
        # left the register). The handläggare gets the draft back and sees why in it.
        rounds_start.release_draft(load_settings(), draft_id, now=utcnow())
        message = f"Ärendeutkast {draft_id} kunde inte startas: {exc}"
        get_run_logger().error("%s", message)
        return Failed(message=message, data=exc)  # type: ignore[return-value]
    quietly(label_round_run, round_id, "start")
    sent = send_round(round_id, return_state=True)
    if sent.is_failed():
        message = sent.message or ""
        return Failed(message=message, data=RoundIncomplete(message))  # type: ignore[return-value]
    return round_id
