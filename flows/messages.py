"""Sending stored messages (kvittenser, decisions) and processing answers."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.events import emit_event
from prefect.exceptions import MissingContextError, ObjectNotFound

from flows import retries
from flows.compile import compile_round
from flows.dashboard import (
    label_answer_run,
    label_dated_run,
    label_round_run,
    publish_answer_round,
    publish_events,
    quietly,
)
from flows.retries import DB_RETRIES
from remiss.answers.joint import requests_of_answer
from remiss.answers.processing import (
    answers_to_process,
    prepare_kvittens,
    record_processed,
)
from remiss.core.dates import utcnow
from remiss.core.errors import RemissError
from remiss.core.settings import load_settings
from remiss.mail import load_mailer
from remiss.outbox.outcomes import SendOutcome, SendResult, problems, summary, tally
from remiss.outbox.sending import (
    messages_to_send,
    outcomes_of,
    round_messages_to_send,
    send_batch,
    settle,
)
from remiss.report.compiling import extract_texts, rounds_to_compile

# The Prefect global concurrency limit every call to the mail server holds a slot of:
# all workers together stay below the server's throttling policy (mail_concurrency).
MAIL_LIMIT = "remiss-e-post"

# The batches of one run ask for their slots together, from the task runner's threads. On
# Prefect's SQLite-backed server, concurrent increments wait on each other's write lock:
# three at once took 1.9-2.4 s where one after the other took 0.2 s in all (bench/README.md).
_slot_calls = threading.Lock()


class NotDelivered(RemissError):
    """A message could not be sent now; the sweep tries again later."""


def ensure_mail_limit(limit: int) -> None:
    with get_client(sync_client=True) as client:
        try:
            current = client.read_global_concurrency_limit_by_name(MAIL_LIMIT)
        except ObjectNotFound:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=MAIL_LIMIT, limit=limit)
            )
            return
        if current.limit != limit:
            client.update_global_concurrency_limit(
                MAIL_LIMIT, GlobalConcurrencyLimitUpdate(limit=limit)
            )


def release_orphaned_slots() -> None:
    """Count every slot of the mail limit as free: when a command has just started its own
    temporary server, and only then.

    A slot is leased in the memory of the server that granted it. A command killed together
    with its temporary server never gave its slots back, and no later server knows of those
    leases to let them expire: the database went on counting them (38 taken of a limit of 4
    after the kill tests), and every later send waited for a slot for ever.
    """
    # No limit yet: the first send makes it.
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
        client.update_global_concurrency_limit(
            MAIL_LIMIT, GlobalConcurrencyLimitUpdate(active_slots=0)
        )


@contextmanager
def mail_slot(lease_seconds: float = 60) -> Iterator[None]:
    """Hold one slot of the mail limit while talking to the mail server.

    Prefect's own `concurrency()` took about 2 s to take a free slot inside a task
    (measured here with Prefect 3.8.8, a fixed wait per batch); the two API calls it
    rests on take milliseconds. The lease is short and renewed while the slot is held, so
    that a worker killed mid-batch blocks its slot for a minute (plus the server's 15 s
    reaper pass), not for as long as the longest batch might take.
    """
    logger = logging.getLogger(__name__)
    waited = 0.0
    with get_client(sync_client=True) as client:
        while True:
            try:
                with _slot_calls:
                    response = client.increment_concurrency_slots_with_lease(
                        names=[MAIL_LIMIT],
                        slots=1,
                        mode="concurrency",
                        lease_duration=lease_seconds,
                    )
                break
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 423:  # 423: every slot is taken
                    raise
                if waited == 0:
                    # Say so: a dead worker's slot comes back only when its lease runs out.
                    _run_logger().info(
                        "Alla platser för e-post (%s) är upptagna; väntar på en ledig. En "
                        "process som dött lämnar tillbaka sin plats inom %.0f sekunder.",
                        MAIL_LIMIT,
                        lease_seconds + 15,
                    )
                delay = float(exc.response.headers.get("Retry-After", "1"))
                time.sleep(delay)
                waited += delay
        if waited:
            _run_logger().info("Fick en plats för e-post efter %.0f sekunder.", waited)
        lease_id = response.json()["lease_id"]
        released = threading.Event()

        def renew() -> None:
            while not released.wait(lease_seconds / 3):
                try:
                    client.renew_concurrency_lease(lease_id, lease_seconds)
                except httpx.HTTPError as exc:  # the next pass tries again
                    logger.warning("mail slot lease not renewed: %s", exc)

        renewer = threading.Thread(target=renew, name="mail-slot-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            released.set()
            renewer.join()
            with _slot_calls:
                client.release_concurrency_slots_with_lease(lease_id)


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@task(name="skicka-meddelanden", task_run_name="skicka-{message_ids[0]}-och-fler", **DB_RETRIES)
def send_batch_task(message_ids: list[int]) -> list[SendOutcome]:
    """One batch: claims per message, one call to the mail server for all of them; what
    the mail server did not take now is tried again after a pause (retries.MAIL_RETRY_DELAYS)."""
    settings = load_settings()
    mailer = load_mailer(settings)
    outcomes: dict[int, SendOutcome] = {}
    todo = list(message_ids)
    for delay in (*retries.MAIL_RETRY_DELAYS, None):
        with mail_slot():
            done = send_batch(
                todo, settings=settings, mailer=mailer, now=utcnow(), listed_unsent=True
            )
        outcomes.update(zip(todo, done, strict=True))
        todo = [m for m in todo if outcomes[m].result == SendResult.UNSENT]
        if not todo or delay is None:
            break
        get_run_logger().warning(
            "%s meddelanden kunde inte skickas nu (%s); nytt försök om %.0f sekunder.",
            len(todo),
            outcomes[todo[0]].detail,
            delay,
        )
        time.sleep(delay)
    return [outcomes[m] for m in message_ids]


def send_in_batches(message_ids: list[int]) -> list[SendOutcome]:
    """Send stored messages in the backend's batches; what happened to each, in order."""
    settings = load_settings()
    if not message_ids:
        return []
    ensure_mail_limit(settings.mail_concurrency)
    size = load_mailer(settings).batch_size
    batches = [message_ids[i : i + size] for i in range(0, len(message_ids), size)]
    outcomes: dict[int, SendOutcome] = {}
    for batch, future in zip(batches, send_batch_task.map(batches), strict=True):
        results = future.result(raise_on_failure=False)
        if not isinstance(results, list):
            # The database failed under the batch, past its retries: each message's
            # stored state says how far it got.
            results = outcomes_of(settings, message_ids=batch)
        outcomes.update(zip(batch, results, strict=True))
    # Those another process held are looked up again once every batch is done, so that
    # the sums say what the others sent meanwhile.
    settled = settle(settings, outcomes)
    logger = get_run_logger()
    counts = tally(settled.values())
    (logger.warning if problems(counts) else logger.info)("%s", summary(counts))
    return [settled[m] for m in message_ids]


@task(name="köa-kvittens")
def queue_kvittens_task(answer_id: int) -> int:
    return prepare_kvittens(load_settings(), answer_id=answer_id)


@task(name="gemensamma-svar-att-bekräfta")
def joint_requests_task(answer_id: int) -> list[int]:
    """The e-mails (queued with the answer) asking the partners it names to confirm it."""
    return requests_of_answer(load_settings(), answer_id=answer_id)


@task(name="läs-svarets-text")
def extract_texts_task(answer_id: int) -> int:
    return extract_texts(load_settings(), answer_id=answer_id)


@task(name="sammanställning-behövs")
def compile_due_task(answer_id: int | None) -> list[int]:
    return rounds_to_compile(load_settings(), now=utcnow(), answer_id=answer_id)


@task(name="markera-behandlat")
def mark_processed_task(answer_id: int) -> None:
    record_processed(load_settings(), answer_id=answer_id, now=utcnow())


@flow(name="behandla-svar")
def process_answer(answer_id: int) -> None:
    """Read the answer's documents, send the kvittens and ask the partners it names to confirm
    it, mark it processed; compile if complete."""
    quietly(label_answer_run, answer_id)
    extract_texts_task(answer_id)
    message_id = queue_kvittens_task(answer_id)
    requests = joint_requests_task(answer_id)
    outcome, *asked = send_in_batches([message_id, *requests])
    if outcome.result == SendResult.FAILED:
        # Permanent (e.g. the address is refused): retrying cannot help; the status shows it.
        get_run_logger().error("Kvittensen för svar %s kunde inte skickas.", answer_id)
    for request in asked:
        if request.result == SendResult.FAILED:
            get_run_logger().error(
                "Förfrågan om gemensamt svar (svar %s) kunde inte skickas.", answer_id
            )
    unsent = [o for o in (outcome, *asked) if o.result == SendResult.UNSENT]
    if unsent:
        # Processed again later (by the sweep): what went out is not sent twice.
        raise NotDelivered(
            f"Kvittensen eller förfrågan om gemensamt svar för svar {answer_id} kunde inte "
            f"skickas nu ({unsent[0].detail})."
        )
    mark_processed_task(answer_id)
    quietly(publish_answer_round, answer_id)
    quietly(publish_events)
    for round_id in compile_due_task(answer_id):
        if load_settings().answer_trigger == "event":
            # The sammanstall deployment's trigger compiles it on a worker.
            emit_event(
                event="remiss.round.complete",
                resource={"prefect.resource.id": f"remiss.round.{round_id}"},
                payload={"round_id": round_id},
            )
        else:
            compile_round(round_id, automatic=True)


@flow(name="skicka-meddelanden")
def send_messages(message_ids: list[int]) -> dict[str, int]:
    return tally(send_in_batches(message_ids))


@flow(name="skicka-omgångens-meddelanden")
def send_round_messages(round_id: int) -> dict[str, int]:
    """Send what a workspace action queued for a round (the job `skicka`); whatever cannot
    go now stays queued for `remiss round send` and the sweep."""
    quietly(label_round_run, round_id, "meddelanden")
    counts = tally(send_in_batches(round_messages_to_send(load_settings(), round_id=round_id)))
    quietly(publish_events)
    return counts


@flow(name="svep-svar-och-meddelanden")
def sweep() -> dict[str, int]:
    """Process answers the answer page could not hand to Prefect, and send what is left."""
    settings = load_settings()
    quietly(label_dated_run, "Svep", with_time=True)
    answers = answers_to_process(settings)
    processed = 0
    for answer_id in answers:
        # One answer that cannot be processed now must not hold back the others.
        if process_answer(answer_id, return_state=True).is_completed():
            processed += 1
    leftover = messages_to_send(settings)
    sent = send_messages(leftover) if leftover else {}
    compiled = compile_due_task(None)
    for round_id in compiled:
        compile_round(round_id, automatic=True)
    # Openings, kvittera and anstånd on the answer page reach the event feed here.
    quietly(publish_events)
    return {
        "compiled": len(compiled),
        "answers": processed,
        "answers_left": len(answers) - processed,
        "messages": sent.get("sent", 0) + sent.get("recovered", 0),
    }
