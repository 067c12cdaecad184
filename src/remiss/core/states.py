"""Every state and kind the database stores, as Enums.

They are StrEnums: stored as their string value (with a CHECK constraint, migration 0007),
compared and serialised as plain strings, so the status JSON and the event feed read the
same as before.
"""

from __future__ import annotations

from enum import StrEnum


class RoundState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class DispatchState(StrEnum):
    """How far the remissmissiv to one remissinstans has come."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class MessageState(StrEnum):
    """One outgoing e-mail: claimed while sending, at most once sent."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # a reminder no longer due when its turn came


UNSENT = (MessageState.PENDING, MessageState.SENDING)


class MessageKind(StrEnum):
    """The fixed kinds of e-mail; reminders are `paminnelse_<stage>` (see reminder_kind)."""

    MISSIV = "missiv"
    KVITTENS = "kvittens"
    ANSTAND_BESLUT = "anstand_beslut"
    GEMENSAMT_SVAR = "gemensamt_svar"  # asks a named partner to confirm a joint answer
    BESLUT = "beslut"  # the decision on the case, sent back to every remissinstans
    NY_SVARSTID = "ny_svarstid"  # the deadline extended for everyone who has not answered


PAMINNELSE_PREFIX = "paminnelse_"


def reminder_kind(stage_name: str) -> str:
    return PAMINNELSE_PREFIX + stage_name


class AnstandState(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"


class Progress(StrEnum):
    """A dispatch as the sender follows it, in order of progress (the status JSON's
    `progress`)."""

    PENDING = "pending"
    SENDING = "sending"
    FAILED = "failed"
    BOUNCED = "bounced"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    RECEIVED = "received"
    DECLINED = "declined"
    ANSWERED = "answered"


class EventKind(StrEnum):
    """What the append-only event log (`handelse`) records about a dispatch."""

    CREATED = "created"
    SENT = "sent"
    SEND_FAILED = "send_failed"
    SEND_RETRY = "send_retry"
    OPENED = "opened"
    RECEIVED = "received"
    RECEIPT_UPDATED = "receipt_updated"
    ANSTAND_REQUESTED = "anstand_requested"
    ANSTAND_GRANTED = "anstand_granted"
    ANSTAND_REFUSED = "anstand_refused"
    DECLINED = "declined"
    ANSWERED = "answered"
    ANSWER_REVIEWED = "answer_reviewed"
    ANSWER_REJECTED = "answer_rejected"  # an e-mail reviewed and found not to be an answer
    ANSWER_PROCESSED = "answer_processed"
    REMINDER_QUEUED = "reminder_queued"
    REMINDER_CANCELLED = "reminder_cancelled"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    READ_RECEIPT = "read_receipt"
    AUTO_REPLY = "auto_reply"
    EMAIL_TO_REGISTRATOR = "email_to_registrator"
    EMAIL_FILES_REFUSED = "email_files_refused"
    # Done by a handläggare in the workspace (who: the audit log, atgardslogg).
    ADDED_TO_ROUND = "added_to_round"
    ADDRESS_CORRECTED = "address_corrected"
    DEADLINE_EXTENDED = "deadline_extended"
    JOINT_CLAIMED = "joint_claimed"
    JOINT_CONFIRMED = "joint_confirmed"
    JOINT_REJECTED = "joint_rejected"
    DECISION_SENT = "decision_sent"


class JointState(StrEnum):
    """A remissinstans named in another's answer as answering jointly with it."""

    CLAIMED = "claimed"  # named; counts as answered only once confirmed
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class DraftState(StrEnum):
    """A case being prepared in the workspace, until its round is started (once)."""

    DRAFT = "draft"
    STARTING = "starting"
    STARTED = "started"


class Role(StrEnum):
    """What a member of staff may do in the workspace at /admin."""

    HANDLAGGARE = "handlaggare"  # everything
    LASARE = "lasare"  # read only


class InboundKind(StrEnum):
    """What a message read from the remiss mailbox turned out to be."""

    ANSWER = "answer"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    READ = "read"
    AUTO_REPLY = "auto_reply"
    RECEIPT = "receipt"  # the remissinstans's registration receipt (its kvittens)
    MESSAGE = "message"  # for a person at stadsledningskontoret
    UNMATCHED = "unmatched"
    UNREADABLE = "unreadable"
