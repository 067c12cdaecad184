"""The mailbox poll: replies, delivery reports and bounces from the remiss mailbox."""

from __future__ import annotations

import dataclasses
from typing import Any

from prefect import flow, get_run_logger, task

from flows.dashboard import label_dated_run, publish_events, publish_round, quietly
from flows.messages import ensure_mail_limit, mail_slot, process_answer
from remiss.answers.processing import answers_to_process
from remiss.core.dates import utcnow
from remiss.core.settings import load_settings
from remiss.inbox import poll as inbox
from remiss.mail import load_mailbox
from remiss.storage.uploads import upload_limits


@task(name="läs-brevlådan-meddelanden")
def read_mailbox_task(limit: int) -> dict[str, Any]:
    settings = load_settings()
    with mail_slot():
        result = inbox.poll(
            settings,
            load_mailbox(settings),
            now=utcnow(),
            limits=upload_limits(settings),
            limit=limit,
        )
    return dataclasses.asdict(result)


@task(name="svar-som-väntar-på-kvittens")
def answers_left_task() -> list[int]:
    return answers_to_process(load_settings())


@flow(name="läs-brevlådan")
def poll_mailbox(limit: int = 200) -> dict[str, Any]:
    """Read the remiss mailbox once; each new answer is processed (kvittens) at once, and so
    is every answer an earlier run left unprocessed (a killed or failed poll, a lost job):
    a run that finds the mailbox empty still finishes what the last one did not."""
    settings = load_settings()
    quietly(label_dated_run, "Brevlådan", with_time=True)
    ensure_mail_limit(settings.mail_concurrency)
    result = read_mailbox_task(limit)
    logger = get_run_logger()
    for bounce in result["bounced"]:
        # An operator must find the right address: this is an error, not a note.
        logger.error("Studsade: %s", bounce)
    for round_id in result["rounds"]:
        quietly(publish_round, round_id)
    quietly(publish_events)
    new = set(result["answers"])
    pending = sorted(new | set(answers_left_task()))
    processed = earlier = 0
    for answer_id in pending:
        # One answer that cannot be processed now is left to the next run, not the others.
        if process_answer(answer_id, return_state=True).is_completed():
            processed += 1
            earlier += answer_id not in new
    result["answers_processed"] = processed
    result["answers_from_earlier"] = earlier
    result["answers_left"] = len(pending) - processed
    return result
