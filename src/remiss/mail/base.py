"""The mail interface every backend implements."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formatdate
from typing import Literal, Protocol, runtime_checkable

from remiss.core.keys import message_ref

KEY_HEADER = "X-Remiss-Key"


class MailError(Exception):
    """A send failed. `permanent` says whether trying again can help."""

    permanent = False


class TemporaryMailError(MailError):
    """Worth retrying (server busy, timeout, connection dropped).

    The message may nevertheless have been accepted; the caller checks
    `Mailer.find_sent` before it sends again.
    """


class PermanentMailError(MailError):
    """Retrying will not help (address rejected, message refused)."""

    permanent = True


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FollowUp:
    """The follow-up flag a remissmissiv carries to the recipient's Outlook: what to do,
    from when and by when (the end of the svarsdag), so that the deadline stands in the
    official's own task list.

    In MIME it is `X-Message-Flag` and `Reply-By`, which Exchange turns into the MAPI
    properties PidLidFlagRequest and PidTagReplyTime on receipt ([MS-OXCMAIL]); the
    Exchange backends set those properties directly as well.
    """

    request: str
    start: dt.datetime
    due: dt.datetime


@dataclass(frozen=True)
class OutgoingEmail:
    idempotency_key: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    sender: str
    sender_name: str
    reply_to: str | None = None
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = field(default=())
    follow_up: FollowUp | None = None

    @property
    def message_id(self) -> str:
        """Stable per key, so that a reply's In-Reply-To leads back to the dispatch."""
        domain = self.sender.rpartition("@")[2] or "remiss.invalid"
        return f"<{message_ref(self.idempotency_key)}@{domain}>"

    def to_mime(self) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = Address(self.sender_name, addr_spec=self.sender)
        msg["To"] = ", ".join(self.to)
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        if self.reply_to:
            msg["Reply-To"] = self.reply_to
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = self.message_id
        msg[KEY_HEADER] = self.idempotency_key
        if self.follow_up is not None:
            msg["X-Message-Flag"] = self.follow_up.request
            msg["Reply-By"] = format_datetime(self.follow_up.due.astimezone(dt.UTC), usegmt=True)
        msg.set_content(self.text, charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
        for att in self.attachments:
            maintype, _, subtype = att.content_type.partition("/")
            msg.add_attachment(
                att.data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=att.filename,
            )
        # Every message is written in Swedish: screen readers and mail clients choose the
        # voice, spelling and translation offer by this (the HTML part also has lang="sv").
        # Set last: set_content and add_alternative move or drop Content-* headers.
        msg["Content-Language"] = "sv"
        return msg

    def mime_bytes(self) -> bytes:
        """`to_mime().as_bytes()`, byte for byte, with each attachment encoded once rather
        than once per message.

        Python's email package took 110-170 ms to encode and write a message with a 3 MB
        PDF, almost all of it the attachment: half a minute for a remiss to 300
        remissinstanser, the same handlingar in every message. Here the message is written
        with a short stand-in for each attachment, and the stand-in's line is replaced by
        the attachment's base64 lines, made as the email package makes them and kept for
        the next message (`_base64_lines`). The MIME boundaries, chosen against the
        stand-ins, cannot occur in base64 either: they hold fifteen "=" in a row.
        """
        if not self.attachments:
            return self.to_mime().as_bytes()
        marks = [f"remiss-bilaga-{uuid.uuid4().hex}".encode() for _ in self.attachments]
        stand_in = dataclasses.replace(
            self,
            attachments=tuple(
                dataclasses.replace(att, data=mark)
                for att, mark in zip(self.attachments, marks, strict=True)
            ),
        )
        out = stand_in.to_mime().as_bytes()
        for att, mark in zip(self.attachments, marks, strict=True):
            line = _base64_lines(mark)  # one line: the stand-in is short
            if out.count(line) != 1:
                raise AssertionError("an attachment's stand-in was not written as one line")
            out = out.replace(line, _base64_lines(att.data))
        return out


@functools.lru_cache(maxsize=4)
def _base64_lines(data: bytes) -> bytes:
    """An attachment's body as EmailMessage.as_bytes() writes it (base64, 76 characters a
    line, "\n" after each). The few latest are kept: a round sends the same handlingar to
    every recipient. Keyed by the bytes themselves, so a hit is an exact match."""
    # 57 bytes to a 76-character line, as the email package's content manager writes them.
    return base64.encodebytes(data)


class Mailer(Protocol):
    """A mail backend.

    `send` either returns the backend's id for the accepted message or raises a
    MailError. `send_many` sends up to `batch_size` messages and yields, in order and as
    soon as they are known, groups of per-message results (the id or the MailError): one
    group per call to the server, so a backend that sends one by one yields groups of one.
    It raises a TemporaryMailError when a call failed and any of the messages not yet
    yielded may have gone out. `find_sent` answers whether a message with this
    idempotency key was already accepted (after a crash or an ambiguous failure), with
    its id.
    """

    name: str
    batch_size: int

    def send(self, message: OutgoingEmail) -> str: ...

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]: ...

    def find_sent(self, idempotency_key: str) -> str | None: ...


def send_one_by_one(
    send: Callable[[OutgoingEmail], str], messages: Sequence[OutgoingEmail]
) -> Iterator[list[str | MailError]]:
    """`send_many` for backends without a batch call: one `send` after the other.

    Every message gets its own attempt, so that one refused or delayed recipient does
    not hold back the others.
    """
    for message in messages:
        try:
            yield [send(message)]
        except MailError as exc:
            yield [exc]


@runtime_checkable
class LooksUpMany(Protocol):
    """A backend that can ask about many idempotency keys in one call (Graph's $batch)."""

    def find_sent_many(self, keys: Sequence[str]) -> list[str | TemporaryMailError | None]: ...


def find_sent_each(mailer: Mailer, keys: Sequence[str]) -> list[str | TemporaryMailError | None]:
    """`find_sent` for each key, in as few calls as the backend allows; a look-up that
    failed is its TemporaryMailError, so that one key in doubt holds back no other."""
    if isinstance(mailer, LooksUpMany):
        return mailer.find_sent_many(keys)
    results: list[str | TemporaryMailError | None] = []
    for key in keys:
        try:
            results.append(mailer.find_sent(key))
        except TemporaryMailError as exc:
            results.append(exc)
    return results


Folder = Literal["processed", "unmatched"]


@dataclass(frozen=True)
class InboxItem:
    """One message in the remiss mailbox: the backend's reference, its class and its MIME."""

    ref: str
    item_class: str
    mime: bytes


class Mailbox(Protocol):
    """The remiss mailbox, where replies and delivery reports arrive.

    `fetch` returns up to `limit` messages still in the inbox, oldest first; `file`
    marks one as processed and moves it to the processed or the unmatched folder (doing
    nothing if it is already gone); `list_folder` lists a folder, newest first.
    """

    name: str

    def fetch(self, limit: int) -> list[InboxItem]: ...

    def file(self, item: InboxItem, folder: Folder) -> None: ...

    def list_folder(self, folder: Folder, limit: int = 200) -> list[InboxItem]: ...
