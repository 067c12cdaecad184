"""E-mail behind one interface: outbox (files), SMTP, Exchange (EWS), and the mailbox."""

from remiss.mail.base import (
    Attachment,
    InboxItem,
    Mailbox,
    Mailer,
    MailError,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
    load_mailbox,
    load_mailer,
)

__all__ = [
    "Attachment",
    "InboxItem",
    "MailError",
    "Mailbox",
    "Mailer",
    "OutgoingEmail",
    "PermanentMailError",
    "TemporaryMailError",
    "load_mailbox",
    "load_mailer",
]
