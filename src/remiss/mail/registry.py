"""The one place that names the mail backends: which one sends, which one reads, how to check it.

`mail_backend` is `outbox`, `smtp`, `exchange` (EWS), `graph` (Microsoft Graph), or
`package.module:factory` for a sender outside this package. Backends are imported only
when chosen, so an installation without Exchange never loads exchangelib or msal.
"""

from __future__ import annotations

import importlib

from remiss.core.errors import InputError, RemissError
from remiss.core.settings import Settings
from remiss.mail.base import Mailbox, Mailer, MailError

BUILT_IN = ("outbox", "smtp", "exchange", "graph")


def load_mailer(settings: Settings) -> Mailer:
    backend = settings.mail_backend
    if backend == "outbox":
        from remiss.mail.outbox import OutboxMailer

        return OutboxMailer(settings.outbox_dir)
    if backend == "smtp":
        from remiss.mail.smtp import SmtpMailer

        return SmtpMailer(settings)
    if backend == "exchange":
        from remiss.mail.exchange import ExchangeMailer

        return ExchangeMailer(settings)
    if backend == "graph":
        from remiss.mail.graph import GraphMailer

        return GraphMailer(settings)
    module_name, sep, attr = backend.partition(":")
    if not sep:
        raise InputError(
            "okänd e-posttjänst; använd outbox, smtp, exchange, graph eller modul:fabrik",
            field="mail_backend",
            value=backend,
        )
    factory = getattr(importlib.import_module(module_name), attr)
    mailer: Mailer = factory(settings)
    return mailer


def load_mailbox(settings: Settings) -> Mailbox:
    """Exchange's inbox (EWS or Graph), or for the outbox (and test backends) a folder of
    .eml files."""
    if settings.mail_backend == "exchange":
        from remiss.mail.exchange import ExchangeMailbox

        return ExchangeMailbox(settings)
    if settings.mail_backend == "graph":
        from remiss.mail.graph import GraphMailbox

        return GraphMailbox(settings)
    if settings.mail_backend == "smtp":
        raise InputError(
            "SMTP-tjänsten kan bara skicka; svar per e-post läses med exchange eller graph (eller "
            "outbox, som läser .eml-filer ur inbox_dir)",
            field="mail_backend",
            value="smtp",
        )
    from remiss.mail.outbox import FolderMailbox

    return FolderMailbox(settings.inbox_path)


def check_backend(settings: Settings) -> list[str]:
    """Try the configured backend without sending anything; lines saying what was found.
    Raises RemissError with the cause when it does not answer as configured."""
    backend = settings.mail_backend
    if backend == "exchange":
        from remiss.mail.exchange import check

        return check(settings)
    if backend == "graph":
        from remiss.mail.graph import check as check_graph

        return check_graph(settings)
    if backend == "smtp":
        from remiss.mail.smtp import SmtpMailer

        try:
            return SmtpMailer(settings).check()
        except MailError as exc:
            raise RemissError(str(exc)) from exc
    if backend == "outbox":
        from remiss.mail.outbox import check_folders

        return check_folders(settings.outbox_dir, settings.inbox_path)
    return [f"E-posttjänsten {backend}: inget att kontrollera."]
