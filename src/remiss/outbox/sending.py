"""Send each message exactly once: claim it in the database, send, then mark it sent.

A claim left behind by a crashed process is taken over: at once if that process
ran on this machine and is gone, otherwise after `send_lease_seconds`. Every
attempt after the first asks the mail backend whether the message already went
out (by its idempotency key) before it sends again.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from remiss.core.settings import Settings
from remiss.core.states import UNSENT, DispatchState, EventKind, MessageKind, MessageState
from remiss.db.engine import session_scope
from remiss.db.events import log_event
from remiss.db.models import Dispatch, OutgoingMessage
from remiss.mail import Mailer, MailError, PermanentMailError
from remiss.outbox.compose import build_message
from remiss.reminders import schedule

Result = Literal["sent", "recovered", "already_sent", "busy", "failed"]


@dataclass(frozen=True)
class SendOutcome:
    dispatch_id: int
    result: Result
    detail: str = ""


class TemporarySendError(Exception):
    """Not sent this time; the claim is released so that a retry can try again."""


def current_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_is_stale(
    *,
    claimed_at: dt.datetime | None,
    claimed_by: str | None,
    now: dt.datetime,
    lease_seconds: int,
    host: str,
    pid_alive: Callable[[int], bool] = _pid_alive,
) -> bool:
    """Whether a 'sending' claim can be taken over."""
    if claimed_at is None or now - claimed_at >= dt.timedelta(seconds=lease_seconds):
        return True
    owner_host, _, owner_pid = (claimed_by or "").rpartition(":")
    return owner_host == host and owner_pid.isdigit() and not pid_alive(int(owner_pid))


@dataclass
class _Claim:
    settings: Settings
    mailer: Mailer
    now: dt.datetime
    dispatch_id: int
    message_id: int
    kind: str
    key: str
    attempt: int

    def ours(self) -> list[ColumnElement[bool]]:
        return [
            OutgoingMessage.id == self.message_id,
            OutgoingMessage.state == MessageState.SENDING,
            OutgoingMessage.attempts == self.attempt,
        ]

    def finish(
        self,
        session: Any,
        result: Result,
        *,
        provider_id: str | None = None,
        error: str | None = None,
        joint: dict[int, set[str]] | None = None,
    ) -> SendOutcome:
        """Mark the message sent (or failed) in the caller's transaction, if still ours.

        `joint`: schedule.jointly_answered() by round, when the caller finishes many.
        """
        at = self.now
        state = MessageState.FAILED if result == "failed" else MessageState.SENT
        values: dict[str, Any] = {"state": state, "last_error": error}
        if state == MessageState.SENT:
            values.update(sent_at=at, provider_id=provider_id)
        done = session.execute(update(OutgoingMessage).where(*self.ours()).values(**values))
        if done.rowcount != 1:
            return SendOutcome(self.dispatch_id, "busy", "utskicket togs över under sändningen")
        if self.kind == MessageKind.MISSIV:
            dispatch = session.get_one(Dispatch, self.dispatch_id)
            dispatch.state = DispatchState(state)
            if state == MessageState.SENT:
                dispatch.sent_at = at
                # Loaded in this transaction, and a send changes nothing else it reads.
                schedule.reschedule(
                    dispatch,
                    tz=self.settings.timezone,
                    now=at,
                    joint=joint.get(dispatch.round_id) if joint else None,
                )
        self._event(
            session,
            EventKind.SENT if state == MessageState.SENT else EventKind.SEND_FAILED,
            at,
            provider_id=provider_id,
            recovered=result == "recovered",
            error=error,
        )
        return SendOutcome(self.dispatch_id, result, error or "")

    def release(self, session: Any, error: str) -> None:
        """Give the claim back; attempts stays counted so the next one checks the backend."""
        session.execute(
            update(OutgoingMessage)
            .where(*self.ours())
            .values(state=MessageState.PENDING, last_error=error)
        )
        self._event(session, EventKind.SEND_RETRY, self.now, error=error)

    def _event(self, session: Any, kind: EventKind, at: dt.datetime, **detail: Any) -> None:
        log_event(
            session,
            dispatch_id=self.dispatch_id,
            kind=kind,
            now=at,
            message=self.kind,
            key=self.key,
            attempt=self.attempt,
            backend=self.mailer.name,
            **detail,
        )


def _load(session: Any, message_ids: list[int]) -> tuple[list[OutgoingMessage], list[Dispatch]]:
    """The messages and their dispatches in a few queries, for a transaction working on all.

    Keep both lists while working on them: the session holds its objects only weakly.
    """
    messages = list(
        session.scalars(select(OutgoingMessage).where(OutgoingMessage.id.in_(message_ids)))
    )
    return messages, schedule.load_for_rules(
        session, dispatch_ids=list({m.dispatch_id for m in messages})
    )


def _claim(
    session: Any,
    message_id: int,
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str,
) -> _Claim | SendOutcome:
    """Compare-and-set on (state, attempts): of two processes, exactly one wins."""
    msg = session.get_one(OutgoingMessage, message_id)
    dispatch_id = msg.dispatch_id
    if msg.state == MessageState.SENT:
        return SendOutcome(dispatch_id, "already_sent")
    if msg.state == MessageState.FAILED:
        return SendOutcome(dispatch_id, "failed", msg.last_error or "")
    if msg.state == MessageState.SENDING and not claim_is_stale(
        claimed_at=msg.claimed_at,
        claimed_by=msg.claimed_by,
        now=now,
        lease_seconds=settings.send_lease_seconds,
        host=owner.rpartition(":")[0],
    ):
        return SendOutcome(dispatch_id, "busy", f"skickas av {msg.claimed_by}")
    attempt = msg.attempts + 1
    claimed = session.execute(
        update(OutgoingMessage)
        .where(
            OutgoingMessage.id == msg.id,
            OutgoingMessage.state == msg.state,
            OutgoingMessage.attempts == msg.attempts,
        )
        .values(state=MessageState.SENDING, attempts=attempt, claimed_at=now, claimed_by=owner)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return SendOutcome(dispatch_id, "busy", "en annan process tog utskicket")
    if msg.kind == MessageKind.MISSIV:
        session.get_one(Dispatch, dispatch_id).state = DispatchState.SENDING
    return _Claim(
        settings=settings,
        mailer=mailer,
        now=now,
        dispatch_id=dispatch_id,
        message_id=msg.id,
        kind=msg.kind,
        key=msg.idempotency_key,
        attempt=attempt,
    )


def send_batch(
    message_ids: list[int],
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str | None = None,
) -> list[SendOutcome]:
    """Send stored messages, each at most once, and at least once if it can be sent.

    `now` is when the batch began: its claims, marks and events carry that time.

    Claims, states and events stay per message; the sends go to the backend together
    (one call for up to `mailer.batch_size`). Raises TemporarySendError, after
    recording everything that is known, when a retry may send what did not go out.
    """
    who = owner or current_owner()
    outcomes: dict[int, SendOutcome] = {}
    claims: list[_Claim] = []
    # One transaction claims the whole batch: a claim is only a mark, and a batch that
    # fails to commit has claimed nothing.
    with session_scope(settings.database_url) as session:
        _held = _load(session, message_ids)  # kept: the session holds its objects weakly
        for message_id in message_ids:
            claim = _claim(
                session, message_id, settings=settings, mailer=mailer, now=now, owner=who
            )
            if isinstance(claim, SendOutcome):
                outcomes[message_id] = claim
            else:
                claims.append(claim)
    retry: dict[int, str] = {}  # released for a later attempt, with the reason
    try:
        to_send = _recover(claims, mailer, outcomes)
        emails = []
        with session_scope(settings.database_url) as session:
            messages, _dispatches = _load(session, [c.message_id for c in to_send])
            loaded = {m.id: m for m in messages}
            for claim in list(to_send):
                message = loaded[claim.message_id]
                if (message.state, message.attempts) != (MessageState.SENDING, claim.attempt):
                    outcomes[claim.message_id] = SendOutcome(
                        claim.dispatch_id, "busy", "utskicket togs över av en annan process"
                    )
                    to_send.remove(claim)
                    continue
                # Composed in a transaction: the first missiv fixes the dispatch's link.
                emails.append(build_message(session, message=message, settings=settings))
        # Each group of results is recorded as it comes, in one transaction: a backend
        # that sends one by one has each message marked sent before the next goes, so a
        # crash leaves at most one in doubt; Exchange's batch is marked at once.
        pending = iter(to_send)
        for group in mailer.send_many(emails) if emails else iter(()):
            finished, released = _record(
                list(itertools.islice(pending, len(group))), group, settings=settings
            )
            outcomes.update(finished)
            retry.update(released)
        if any(c.message_id not in outcomes and c.message_id not in retry for c in to_send):
            raise RuntimeError("e-postservern svarade inte för varje meddelande")
    except BaseException as exc:
        for claim in claims:
            if claim.message_id not in outcomes and claim.message_id not in retry:
                with session_scope(settings.database_url) as session:
                    claim.release(session, str(exc) or type(exc).__name__)
        if isinstance(exc, MailError):
            raise TemporarySendError(str(exc)) from exc
        raise
    if retry:
        first = next(iter(retry.values()))
        raise TemporarySendError(f"{len(retry)} meddelanden kunde inte skickas nu: {first}")
    return [outcomes[m] for m in message_ids]


def _record(
    claims: list[_Claim], results: list[str | MailError], *, settings: Settings
) -> tuple[dict[int, SendOutcome], dict[int, str]]:
    """Record one group of results in one transaction: (outcomes, released with reason).

    Returned only once committed, so that a group whose transaction failed counts as
    unrecorded, and its claims are given back.
    """
    outcomes: dict[int, SendOutcome] = {}
    released: dict[int, str] = {}
    with session_scope(settings.database_url) as session:
        dispatches = schedule.load_for_rules(session, dispatch_ids=[c.dispatch_id for c in claims])
        rounds = {d.round_id for d in dispatches}
        joint = {r: schedule.jointly_answered(session, round_id=r) for r in rounds}
        for claim, result in zip(claims, results, strict=True):
            if isinstance(result, PermanentMailError):
                outcomes[claim.message_id] = claim.finish(session, "failed", error=str(result))
            elif isinstance(result, MailError):
                claim.release(session, str(result))
                released[claim.message_id] = str(result)
            else:
                outcomes[claim.message_id] = claim.finish(
                    session, "sent", provider_id=result, joint=joint
                )
    return outcomes, released


def _recover(
    claims: list[_Claim], mailer: Mailer, outcomes: dict[int, SendOutcome]
) -> list[_Claim]:
    """Ask the backend about every claim that was tried before; the rest still need sending."""
    to_send = []
    for claim in claims:
        found = mailer.find_sent(claim.key) if claim.attempt > 1 else None
        if found:
            with session_scope(claim.settings.database_url) as session:
                outcomes[claim.message_id] = claim.finish(session, "recovered", provider_id=found)
        else:
            to_send.append(claim)
    return to_send


def send_message(
    message_id: int,
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str | None = None,
) -> SendOutcome:
    """Send one stored message (see send_batch)."""
    return send_batch([message_id], settings=settings, mailer=mailer, now=now, owner=owner)[0]


def send_missiv(
    dispatch_id: int,
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str | None = None,
) -> SendOutcome:
    """Send one dispatch's remissmissiv (see send_message)."""
    with session_scope(settings.database_url) as session:
        message_id = session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.dispatch_id == dispatch_id,
                OutgoingMessage.kind == MessageKind.MISSIV,
            )
        ).one()
    return send_message(message_id, settings=settings, mailer=mailer, now=now, owner=owner)


def unsent_messages(session: Session) -> list[int]:
    """Kvittenser and decisions not yet sent (a missiv belongs to its round's send flow)."""
    return list(
        session.scalars(
            select(OutgoingMessage.id)
            .where(OutgoingMessage.state.in_(UNSENT), OutgoingMessage.kind != MessageKind.MISSIV)
            .order_by(OutgoingMessage.id)
        )
    )


def messages_to_send(settings: Settings) -> list[int]:
    with session_scope(settings.database_url) as session:
        return unsent_messages(session)


def results_of(settings: Settings, *, message_ids: list[int]) -> list[str]:
    """Per message, as a send result: sent, failed, or unsent (still to be sent)."""
    with session_scope(settings.database_url) as session:
        states = session.scalars(
            select(OutgoingMessage.state).where(OutgoingMessage.id.in_(message_ids))
        )
        return [s if s in ("sent", "failed") else "unsent" for s in states]
