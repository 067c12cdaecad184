"""The mail interface every backend implements."""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from remiss.settings import Settings

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

    @property
    def message_id(self) -> str:
        """Stable per key, so that a reply's In-Reply-To leads back to the dispatch."""
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:32]
        domain = self.sender.rpartition("@")[2] or "remiss.invalid"
        return f"<{digest}@{domain}>"

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
        return msg


class Mailer(Protocol):
    """A mail backend.

    `send` either returns the backend's id for the accepted message or raises a
    MailError. `find_sent` answers whether a message with this idempotency key
    was already accepted (after a crash or an ambiguous failure), with its id.
    """

    name: str

    def send(self, message: OutgoingEmail) -> str: ...

    def find_sent(self, idempotency_key: str) -> str | None: ...


def load_mailer(settings: Settings) -> Mailer:
    """`outbox`, `smtp`, or `package.module:factory` for a backend outside this package."""
    backend = settings.mail_backend
    if backend == "outbox":
        from remiss.mail.outbox import OutboxMailer

        return OutboxMailer(settings.outbox_dir)
    if backend == "smtp":
        from remiss.mail.smtp import SmtpMailer

        return SmtpMailer(settings)
    module_name, sep, attr = backend.partition(":")
    if not sep:
        from remiss.errors import InputError

        raise InputError(
            "okänd e-postbakände; använd outbox, smtp eller modul:fabrik",
            field="mail_backend",
            value=backend,
        )
    factory = getattr(importlib.import_module(module_name), attr)
    mailer: Mailer = factory(settings)
    return mailer
