"""Send each message exactly once: claim it in the database, send, then mark it sent.

The claim is a lease and a fencing token. While a sender works it renews the lease of
every claim it holds (a heartbeat, every quarter of `send_lease_seconds`); before each
call to the mail server it checks that the claims are still its own, and the statement
that records a result matches the claim's holder and attempt, so a sender whose claim
was taken over never sends or records again. A claim whose heartbeat stopped (the
process died or hangs) is taken over: at once if that process ran on this machine and
is gone, otherwise once the lease has run out. Every attempt after the first asks the
mail backend whether the message already went out (by its idempotency key) before it
sends again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import ColumnElement, case, select, tuple_, update
from sqlalchemy.orm import Session

from remiss.core.settings import Settings
from remiss.core.states import UNSENT, DispatchState, EventKind, MessageKind, MessageState
from remiss.db.engine import session_scope
from remiss.db.events import log_event
from remiss.db.models import Dispatch, OutgoingMessage
from remiss.mail import Mailer, MailError, OutgoingEmail, PermanentMailError, TemporaryMailError
from remiss.mail.base import find_sent_each
from remiss.outbox.compose import build_message
from remiss.outbox.outcomes import SendOutcome, SendResult
from remiss.reminders import schedule

log = logging.getLogger(__name__)


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
    renewed_at: dt.datetime | None = None,
    pid_alive: Callable[[int], bool] = _pid_alive,
) -> bool:
    """Whether a 'sending' claim can be taken over: its last sign of life is older than
    the lease, or its holder ran on this machine and is gone."""
    alive_at = max((t for t in (claimed_at, renewed_at) if t is not None), default=None)
    if alive_at is None or now - alive_at >= dt.timedelta(seconds=lease_seconds):
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
    owner: str

    def ours(self) -> list[ColumnElement[bool]]:
        """The fencing condition: the claim is still this holder's, at this attempt."""
        return [
            OutgoingMessage.id == self.message_id,
            OutgoingMessage.state == MessageState.SENDING,
            OutgoingMessage.attempts == self.attempt,
            OutgoingMessage.claimed_by == self.owner,
        ]

    def finish(
        self,
        session: Any,
        result: SendResult,
        *,
        provider_id: str | None = None,
        error: str | None = None,
        joint: dict[int, set[str]] | None = None,
    ) -> SendOutcome:
        """Mark the message sent (or failed) in the caller's transaction, if still ours.

        `joint`: schedule.jointly_answered() by round, when the caller finishes many.
        """
        at = self.now
        state = MessageState.FAILED if result == SendResult.FAILED else MessageState.SENT
        values: dict[str, Any] = {"state": state, "last_error": error}
        if state == MessageState.SENT:
            values.update(sent_at=at, provider_id=provider_id)
        done = session.execute(update(OutgoingMessage).where(*self.ours()).values(**values))
        if done.rowcount != 1:
            return _taken_over(session, self)
        return self.finished(session, result, provider_id=provider_id, error=error, joint=joint)

    def finished(
        self,
        session: Any,
        result: SendResult,
        *,
        provider_id: str | None = None,
        error: str | None = None,
        joint: dict[int, set[str]] | None = None,
    ) -> SendOutcome:
        """What follows the message's mark: its dispatch's state and next reminder, and
        the event."""
        at = self.now
        state = MessageState.FAILED if result == SendResult.FAILED else MessageState.SENT
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
            recovered=result == SendResult.RECOVERED,
            error=error,
        )
        return SendOutcome(self.dispatch_id, result, error or "")

    def release(self, session: Any, error: str) -> SendOutcome:
        """Give the claim back, as failed for now; attempts stays counted so that the next
        attempt asks the backend first."""
        done = session.execute(
            update(OutgoingMessage)
            .where(*self.ours())
            .values(state=MessageState.PENDING, last_error=error)
        )
        if done.rowcount != 1:
            return _taken_over(session, self)
        if self.kind == MessageKind.MISSIV:
            # Nothing is at work on it any more: the status says it waits, not that it sends.
            session.get_one(Dispatch, self.dispatch_id).state = DispatchState.PENDING
        self._event(session, EventKind.SEND_RETRY, self.now, error=error)
        return SendOutcome(self.dispatch_id, SendResult.UNSENT, error)

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


def _taken_over(session: Any, claim: _Claim) -> SendOutcome:
    """What another process made of a message whose claim this one lost."""
    msg = session.get_one(OutgoingMessage, claim.message_id)
    session.refresh(msg)
    return _as_found(msg, claim.dispatch_id, meanwhile=True)


def _as_found(msg: OutgoingMessage, dispatch_id: int, *, meanwhile: bool) -> SendOutcome:
    """The outcome for a message this run does not hold, from its stored state.

    `meanwhile`: the message was unsent when this run listed (or claimed) it, so if it is
    sent now, another process sent it while this run was at work.
    """
    if msg.state == MessageState.SENT:
        return SendOutcome(
            dispatch_id, SendResult.BY_OTHER if meanwhile else SendResult.ALREADY_SENT
        )
    if msg.state == MessageState.FAILED:
        return SendOutcome(dispatch_id, SendResult.FAILED, msg.last_error or "")
    if msg.state == MessageState.SENDING:
        return SendOutcome(
            dispatch_id,
            SendResult.BUSY,
            "skickas av en annan process",
            holder=msg.claimed_by or "",
            since=msg.claimed_at,
        )
    return SendOutcome(dispatch_id, SendResult.UNSENT, msg.last_error or "")


class ClaimLost(Exception):
    """Another process took over a claim this one still meant to send."""


@dataclass
class _Heartbeat:
    """Keeps a sender's claims alive while it works, and tells it which it still holds.

    A thread renews every held claim each quarter of the lease. `check()`, called just
    before each call to the mail server, renews too (at most once a second) and says
    whether any claim still to be sent was taken over meanwhile. Time is the run's `now`
    plus what a monotonic clock measured since, so that a run given a `now` keeps to it.
    """

    settings: Settings
    now: dt.datetime
    held: dict[int, _Claim] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)
    _started: float = field(default_factory=time.monotonic)
    # Made right after the claims: a claim taken a moment ago needs no renewing yet.
    _renewed: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def clock(self) -> dt.datetime:
        return self.now + dt.timedelta(seconds=time.monotonic() - self._started)

    def hold(self, claims: list[_Claim]) -> None:
        with self._lock:
            self.held.update((c.message_id, c) for c in claims)

    def drop(self, message_ids: Iterable[int]) -> None:
        with self._lock:
            for message_id in message_ids:
                self.held.pop(message_id, None)

    def renew(self) -> None:
        with self._lock:
            claims = list(self.held.values())
            if not claims:
                return
            at = self.clock()
            with session_scope(self.settings.database_url) as session:
                for claim in claims:
                    renewed = session.execute(
                        update(OutgoingMessage).where(*claim.ours()).values(claim_renewed_at=at)
                    )
                    if renewed.rowcount != 1:  # type: ignore[attr-defined]
                        self.lost.add(claim.message_id)
            self._renewed = time.monotonic()

    def check(self, message_ids: list[int]) -> None:
        """Raise ClaimLost if any of these claims is no longer this process's."""
        if time.monotonic() - self._renewed > 1.0:
            self.renew()
        if lost := self.lost.intersection(message_ids):
            raise ClaimLost(f"{len(lost)} utskick togs över av en annan process")

    def __enter__(self) -> _Heartbeat:
        self._thread = threading.Thread(target=self._beat, name="send-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.settings.send_lease_seconds / 4):
            try:
                self.renew()
            except Exception as exc:  # the next beat, or the check before a send, tries again
                log.warning("Utskickens lås kunde inte förnyas: %s", exc)


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


def _claim_pending(
    session: Any,
    message_ids: list[int],
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str,
) -> list[_Claim]:
    """Claim, in one statement, every listed message that is pending: the usual case.

    The statement is the compare-and-set: a row another process claimed first is no longer
    pending when this one's UPDATE reaches it, so it is left out (and `_claim` says what
    became of it). Messages in any other state are `_claim`'s, one by one.
    """
    if not message_ids:
        return []
    rows = session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id.in_(message_ids), OutgoingMessage.state == MessageState.PENDING)
        .values(
            state=MessageState.SENDING,
            attempts=OutgoingMessage.attempts + 1,
            claimed_at=now,
            claim_renewed_at=None,
            claimed_by=owner,
        )
        .returning(
            OutgoingMessage.id,
            OutgoingMessage.dispatch_id,
            OutgoingMessage.kind,
            OutgoingMessage.idempotency_key,
            OutgoingMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    missiv = [row.dispatch_id for row in rows if row.kind == MessageKind.MISSIV]
    if missiv:
        session.execute(
            update(Dispatch)
            .where(Dispatch.id.in_(missiv))
            .values(state=DispatchState.SENDING)
            .execution_options(synchronize_session=False)
        )
    return [
        _Claim(
            settings=settings,
            mailer=mailer,
            now=now,
            dispatch_id=row.dispatch_id,
            message_id=row.id,
            kind=row.kind,
            key=row.idempotency_key,
            attempt=row.attempts,
            owner=owner,
        )
        for row in rows
    ]


def _claim(
    session: Any,
    message_id: int,
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str,
    listed_unsent: bool,
) -> _Claim | SendOutcome:
    """Compare-and-set on (state, attempts): of two processes, exactly one wins."""
    msg = session.get_one(OutgoingMessage, message_id)
    dispatch_id = msg.dispatch_id
    if msg.state in (MessageState.SENT, MessageState.FAILED) or (
        msg.state == MessageState.SENDING
        and not claim_is_stale(
            claimed_at=msg.claimed_at,
            renewed_at=msg.claim_renewed_at,
            claimed_by=msg.claimed_by,
            now=now,
            lease_seconds=settings.send_lease_seconds,
            host=owner.rpartition(":")[0],
        )
    ):
        return _as_found(msg, dispatch_id, meanwhile=listed_unsent)
    attempt = msg.attempts + 1
    claimed = session.execute(
        update(OutgoingMessage)
        .where(
            OutgoingMessage.id == msg.id,
            OutgoingMessage.state == msg.state,
            OutgoingMessage.attempts == msg.attempts,
        )
        .values(
            state=MessageState.SENDING,
            attempts=attempt,
            claimed_at=now,
            claim_renewed_at=None,
            claimed_by=owner,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.refresh(msg)
        return _as_found(msg, dispatch_id, meanwhile=True)
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
        owner=owner,
    )


def send_batch(
    message_ids: list[int],
    *,
    settings: Settings,
    mailer: Mailer,
    now: dt.datetime,
    owner: str | None = None,
    listed_unsent: bool = False,
) -> list[SendOutcome]:
    """Send stored messages, each at most once, and at least once if it can be sent.

    `now` is when the batch began: its claims, marks and events carry that time.
    `listed_unsent`: the caller's run listed these messages as unsent, so one found sent
    was sent by another process meanwhile (BY_OTHER), not before (ALREADY_SENT).

    Claims, states and events stay per message; the sends go to the backend together
    (one call for up to `mailer.batch_size`). Every message gets an outcome: a temporary
    failure is UNSENT (its claim given back, for a later attempt), a message another
    process holds is BUSY. Only errors that are not the mail server's (the database, a
    fault in the code) are raised, after every claim not yet recorded has been given back.
    """
    who = owner or current_owner()
    outcomes: dict[int, SendOutcome] = {}
    claims: list[_Claim] = []
    # One transaction claims the whole batch: a claim is only a mark, and a batch that
    # fails to commit has claimed nothing.
    with session_scope(settings.database_url) as session:
        claims = _claim_pending(
            session, message_ids, settings=settings, mailer=mailer, now=now, owner=who
        )
        claimed = {c.message_id for c in claims}
        rest = [m for m in message_ids if m not in claimed]
        _held = _load(session, rest)  # kept: the session holds its objects weakly
        for message_id in rest:
            claim = _claim(
                session,
                message_id,
                settings=settings,
                mailer=mailer,
                now=now,
                owner=who,
                listed_unsent=listed_unsent,
            )
            if isinstance(claim, SendOutcome):
                outcomes[message_id] = claim
            else:
                claims.append(claim)
    order = {m: i for i, m in enumerate(message_ids)}
    claims.sort(key=lambda c: order[c.message_id])
    heartbeat = _Heartbeat(settings, now)
    heartbeat.hold(claims)
    try:
        with heartbeat:
            _send_claimed(claims, mailer, heartbeat, outcomes)
    except BaseException as exc:
        _give_back(claims, outcomes, str(exc) or type(exc).__name__)
        raise
    return [outcomes[m] for m in message_ids]


def _send_claimed(
    claims: list[_Claim], mailer: Mailer, heartbeat: _Heartbeat, outcomes: dict[int, SendOutcome]
) -> None:
    """Recover, compose and send the claimed messages, recording each result as it comes."""
    settings = heartbeat.settings
    try:
        to_send = _recover(claims, mailer, outcomes, heartbeat)
        emails = _compose(to_send, settings, outcomes)
        to_send = [c for c in to_send if c.message_id not in outcomes]
    except MailError as exc:
        _give_back(claims, outcomes, str(exc))
        return
    # Each group of results is recorded as it comes, in one transaction: a backend that
    # sends one by one has each message marked sent before the next goes, so a crash
    # leaves at most one in doubt; Exchange's batch is marked at once. Before each call
    # to the server the claims still to be sent are checked: a claim taken over is not
    # sent by this process.
    groups = mailer.send_many(emails) if emails else iter(())
    remaining = list(to_send)
    try:
        while remaining:
            heartbeat.check([c.message_id for c in remaining])
            group = next(groups, None)
            if group is None:
                break
            done, remaining = remaining[: len(group)], remaining[len(group) :]
            outcomes.update(_record(done, group, settings=settings))
            heartbeat.drop([c.message_id for c in done])
    except ClaimLost as exc:
        _close(groups)
        _give_back(remaining, outcomes, str(exc))
        return
    except MailError as exc:
        _give_back(remaining, outcomes, str(exc))
        return
    _give_back(remaining, outcomes, "e-postservern svarade inte för varje meddelande")


def _close(groups: Iterator[Any]) -> None:
    close = getattr(groups, "close", None)
    if close is not None:
        close()


def _give_back(claims: list[_Claim], outcomes: dict[int, SendOutcome], error: str) -> None:
    """Release every claim not yet recorded, each in its own transaction: failed for now."""
    for claim in claims:
        if claim.message_id not in outcomes:
            with session_scope(claim.settings.database_url) as session:
                outcomes[claim.message_id] = claim.release(session, error)


def _compose(
    to_send: list[_Claim], settings: Settings, outcomes: dict[int, SendOutcome]
) -> list[OutgoingEmail]:
    """The e-mails of the claims still this process's (in one transaction)."""
    emails = []
    with session_scope(settings.database_url) as session:
        messages, _dispatches = _load(session, [c.message_id for c in to_send])
        loaded = {m.id: m for m in messages}
        for claim in to_send:
            message = loaded[claim.message_id]
            if (message.state, message.attempts, message.claimed_by) != (
                MessageState.SENDING,
                claim.attempt,
                claim.owner,
            ):
                outcomes[claim.message_id] = _as_found(message, claim.dispatch_id, meanwhile=True)
                continue
            # Composed in a transaction: the first missiv fixes the dispatch's link.
            emails.append(build_message(session, message=message, settings=settings))
    return emails


def _record(
    claims: list[_Claim], results: list[str | MailError], *, settings: Settings
) -> dict[int, SendOutcome]:
    """Record one group of results in one transaction.

    Returned only once committed, so that a group whose transaction failed counts as
    unrecorded, and its claims are given back.
    """
    outcomes: dict[int, SendOutcome] = {}
    with session_scope(settings.database_url) as session:
        dispatches = schedule.load_for_rules(session, dispatch_ids=[c.dispatch_id for c in claims])
        rounds = {d.round_id for d in dispatches}
        joint = {r: schedule.jointly_answered(session, round_id=r) for r in rounds}
        marked = _mark_sent(
            session,
            [(c, r) for c, r in zip(claims, results, strict=True) if isinstance(r, str)],
        )
        for claim, result in zip(claims, results, strict=True):
            if isinstance(result, PermanentMailError):
                outcome = claim.finish(session, SendResult.FAILED, error=str(result))
            elif isinstance(result, MailError):
                outcome = claim.release(session, str(result))
            elif claim.message_id in marked:
                outcome = claim.finished(session, SendResult.SENT, provider_id=result, joint=joint)
            else:
                outcome = _taken_over(session, claim)
            outcomes[claim.message_id] = outcome
    return outcomes


def _mark_sent(session: Any, sent: list[tuple[_Claim, str]]) -> set[int]:
    """Mark these messages sent, each with its provider's id, in one statement fenced as
    `_Claim.ours()` is: the ids of those whose claims this process still held."""
    if not sent:
        return set()
    first = sent[0][0]
    # One send_batch made every claim: one holder, one moment.
    assert all((c.owner, c.now) == (first.owner, first.now) for c, _ in sent)
    return set(
        session.scalars(
            update(OutgoingMessage)
            .where(
                tuple_(OutgoingMessage.id, OutgoingMessage.attempts).in_(
                    [(c.message_id, c.attempt) for c, _ in sent]
                ),
                OutgoingMessage.state == MessageState.SENDING,
                OutgoingMessage.claimed_by == first.owner,
            )
            .values(
                state=MessageState.SENT,
                last_error=None,
                sent_at=first.now,
                provider_id=case(
                    {c.message_id: provider_id for c, provider_id in sent},
                    value=OutgoingMessage.id,
                ),
            )
            .returning(OutgoingMessage.id)
            .execution_options(synchronize_session=False)
        )
    )


def _recover(
    claims: list[_Claim],
    mailer: Mailer,
    outcomes: dict[int, SendOutcome],
    heartbeat: _Heartbeat,
) -> list[_Claim]:
    """Ask the backend about every claim that was tried before; the rest still need sending."""
    tried = [c for c in claims if c.attempt > 1]
    found = dict(
        zip(
            (c.message_id for c in tried),
            find_sent_each(mailer, [c.key for c in tried]),
            strict=True,
        )
    )
    to_send = []
    for claim in claims:
        result = found.get(claim.message_id)
        if isinstance(result, TemporaryMailError):
            # Still in doubt, so not sent now: given back to be asked about again, while
            # the others of the batch go on.
            with session_scope(claim.settings.database_url) as session:
                outcomes[claim.message_id] = claim.release(session, str(result))
            heartbeat.drop([claim.message_id])
        elif result:
            with session_scope(claim.settings.database_url) as session:
                outcomes[claim.message_id] = claim.finish(
                    session, SendResult.RECOVERED, provider_id=result
                )
            heartbeat.drop([claim.message_id])
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


def round_messages_to_send(settings: Settings, *, round_id: int) -> list[int]:
    """Every message of the round not yet sent, of any kind (a missiv to a corrected
    address or an added remissinstans, a decision, a request to confirm a joint answer)."""
    with session_scope(settings.database_url) as session:
        return list(
            session.scalars(
                select(OutgoingMessage.id)
                .join(Dispatch, OutgoingMessage.dispatch_id == Dispatch.id)
                .where(Dispatch.round_id == round_id, OutgoingMessage.state.in_(UNSENT))
                .order_by(OutgoingMessage.id)
            )
        )


def messages_to_send(settings: Settings) -> list[int]:
    with session_scope(settings.database_url) as session:
        return unsent_messages(session)


def settle(settings: Settings, outcomes: dict[int, SendOutcome]) -> dict[int, SendOutcome]:
    """The outcomes at the end of a run: a message another process held (BUSY) is looked
    up again, so that the sums count what the others sent meanwhile."""
    unsettled = [m for m, o in outcomes.items() if o.result == SendResult.BUSY]
    if unsettled:
        outcomes.update(zip(unsettled, outcomes_of(settings, message_ids=unsettled), strict=True))
    return outcomes


def outcomes_of(settings: Settings, *, message_ids: list[int]) -> list[SendOutcome]:
    """Per message listed unsent by a run, its outcome as its stored state tells it (when
    the run could not say)."""
    with session_scope(settings.database_url) as session:
        messages = {
            m.id: m
            for m in session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.id.in_(message_ids))
            )
        }
        return [
            _as_found(messages[m], messages[m].dispatch_id, meanwhile=True) for m in message_ids
        ]
