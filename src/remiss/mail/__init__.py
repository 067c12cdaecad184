"""E-mail behind one interface: outbox (files), SMTP, Exchange (EWS and Graph), the mailbox."""

from remiss.mail.base import (
    Attachment,
    FollowUp,
    InboxItem,
    Mailbox,
    Mailer,
    MailError,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
)
from remiss.mail.registry import check_backend, load_mailbox, load_mailer

__all__ = [
    "Attachment",
    "FollowUp",
    "InboxItem",
    "MailError",
    "Mailbox",
    "Mailer",
    "OutgoingEmail",
    "PermanentMailError",
    "TemporaryMailError",
    "check_backend",
    "load_mailbox",
    "load_mailer",
]
