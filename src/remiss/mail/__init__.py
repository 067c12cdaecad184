"""Sending e-mail behind one interface: outbox (files) now; Exchange and SMTP plug in beside it."""

from remiss.mail.base import (
    Attachment,
    Mailer,
    MailError,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
    load_mailer,
)

__all__ = [
    "Attachment",
    "MailError",
    "Mailer",
    "OutgoingEmail",
    "PermanentMailError",
    "TemporaryMailError",
    "load_mailer",
]
