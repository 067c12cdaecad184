"""The Exchange backend (`mail_backend: exchange`): EWS through exchangelib.

Sending: each message goes to Exchange as its MIME (the same bytes the other backends
send, attachments included) in `CreateItem` with `SendAndSaveCopy`, a delivery report
requested, and its idempotency key in an extended property. A batch of up to
`ews_batch_size` (100) messages is one `CreateItem` call, or more when their MIME is
larger than CALL_MIME_BYTES together (one group of results per call).

Exactly once. Only a saved copy can be found afterwards, so every message is saved in
Sent Items with its key; after an ambiguous failure (a timeout, a dropped connection)
`remiss.sending` asks `find_sent` before it sends again. exchangelib must not re-send on
its own inside one call either: with more than one connection in its pool it retries a
timed-out `CreateItem` by itself (measured: duplicates with no exception), so the pool
has exactly one connection and a timeout reaches us as an error. Its fault-tolerant
retry policy still waits out `ErrorServerBusy` (a SOAP fault, sent with HTTP 500) and
HTTP 503 (the server refused the request, nothing was sent), up to
`ews_max_wait_seconds`, for sends and the poll alike; a bare HTTP 500 is not retried by
exchangelib, since the server may have sent the message before it failed.

Reading: the inbox's items are read as MIME (reports included), marked with a category
and moved to `ews_processed_folder` or `ews_unmatched_folder` under the inbox.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from exchangelib import (  # type: ignore[import-untyped]
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSDateTime,
    ExtendedProperty,
    FaultTolerance,
    Folder,
    Identity,
    Message,
    OAuth2Credentials,
    Version,
)
from exchangelib import errors as ews_errors
from exchangelib.items import SEND_AND_SAVE_COPY, SEND_TO_NONE  # type: ignore[import-untyped]
from exchangelib.protocol import Protocol  # type: ignore[import-untyped]
from exchangelib.services import CreateItem  # type: ignore[import-untyped]

from remiss.core.errors import InputError, RemissError
from remiss.core.settings import EWS_SECRET_VARIABLE, Settings
from remiss.mail.base import (
    InboxItem,
    MailError,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
)
from remiss.mail.secrets import load_secret

PROCESSED_CATEGORY = "Remiss behandlad"

# Per-message errors worth trying again; every other per-message error is permanent
# (an address Exchange refuses, a message too large, no right to send as the mailbox).
_TEMPORARY_ITEM_ERRORS = (
    ews_errors.ErrorServerBusy,
    ews_errors.ErrorTimeoutExpired,
    ews_errors.ErrorInternalServerTransientError,
    ews_errors.ErrorMailboxStoreUnavailable,
    ews_errors.ErrorMailboxMoveInProgress,
    ews_errors.ErrorQuotaExceeded,
    ews_errors.ErrorTooManyObjectsOpened,
    ews_errors.ErrorExceededConnectionCount,
)

_VERSIONS = {
    "exchange2013": Build(15, 0),
    "exchange2013_sp1": Build(15, 0, 847),
    "exchange2016": Build(15, 1),
    "exchange2019": Build(15, 2),
}


class RemissKey(ExtendedProperty):  # type: ignore[misc]
    """The idempotency key, a named string property that Sent Items can be searched by."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "RemissIdempotencyKey"
    property_type = "String"


# The follow-up flag (mail.base.FollowUp) as the MAPI properties Outlook reads
# ([MS-OXOFLAG]): for the recipients the request and the reply-by time; on the sent item
# the flag itself, from the start to the due date, so the handläggare sees it too.
class FlagRequest(ExtendedProperty):  # type: ignore[misc]
    """PidLidFlagRequest: what the flag asks ("Svara på remissen")."""

    distinguished_property_set_id = "Common"
    property_id = 0x8530
    property_type = "String"


class ReplyTime(ExtendedProperty):  # type: ignore[misc]
    """PidTagReplyTime: the reply-by time (MIME `Reply-By`)."""

    property_tag = 0x0030
    property_type = "SystemTime"


class FlagStatus(ExtendedProperty):  # type: ignore[misc]
    """PidTagFlagStatus: 2 is flagged."""

    property_tag = 0x1090
    property_type = "Integer"


class TaskStartDate(ExtendedProperty):  # type: ignore[misc]
    """PidLidTaskStartDate."""

    distinguished_property_set_id = "Task"
    property_id = 0x8104
    property_type = "SystemTime"


class TaskDueDate(ExtendedProperty):  # type: ignore[misc]
    """PidLidTaskDueDate."""

    distinguished_property_set_id = "Task"
    property_id = 0x8105
    property_type = "SystemTime"


FLAGGED = 2
_PROPERTIES = {
    "remiss_key": RemissKey,
    "flag_request": FlagRequest,
    "reply_time": ReplyTime,
    "flag_status": FlagStatus,
    "task_start_date": TaskStartDate,
    "task_due_date": TaskDueDate,
}
_register_lock = threading.Lock()


def _register_key_property() -> None:
    with _register_lock:
        known = {f.name for f in Message.FIELDS}
        for name, prop in _PROPERTIES.items():
            if name not in known:
                Message.register(name, prop)


def _ews_time(instant: dt.datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(instant.astimezone(dt.UTC))


class _NoRetryOn500(FaultTolerance):  # type: ignore[misc]
    """FaultTolerance, except that a bare HTTP 500 is raised instead of retried.

    A 500 without a SOAP fault can come after the server has sent the message; only
    `find_sent` may decide. A 500 carrying a SOAP fault is Exchange's own answer and goes
    on to exchangelib: `ErrorServerBusy` (nothing was done) is waited out as its
    `BackOffMilliseconds` says, within `ews_max_wait_seconds`; any other fault is raised
    as its error, and a send that gets one is looked up before it is tried again.
    """

    def raise_response_errors(self, response: requests.Response) -> None:
        if response.status_code == 500 and not _is_soap_fault(response.content):
            raise ews_errors.TransportError(f"EWS svarade HTTP 500 på {response.url}")
        super().raise_response_errors(response)


def _is_soap_fault(body: bytes) -> bool:
    head = body[:4096]
    return b"Envelope" in head and b"Fault" in head


def server_version(text: str) -> Version:
    """`Exchange2016` (2013, 2013_SP1, 2019) or a build number such as 15.1.2507.6."""
    name = text.strip().lower()
    if name in _VERSIONS:
        return Version(build=_VERSIONS[name])
    parts = name.split(".")
    if 2 <= len(parts) <= 4 and all(p.isdigit() for p in parts):
        return Version(build=Build(*map(int, parts)))
    raise InputError(
        "okänd serverversion; ange Exchange2013, Exchange2013_SP1, Exchange2016, "
        "Exchange2019 eller ett versionsnummer som 15.1.2507.6",
        field="ews_version",
        value=text,
    )


def ews_secret(settings: Settings) -> str:
    """The password or client secret: REMISS_EWS_SECRET, else the Prefect Secret block."""
    return load_secret(
        variable=EWS_SECRET_VARIABLE,
        block=settings.ews_secret_block,
        block_field="ews_secret_block",
        missing="lösenordet (eller OAuth2-klienthemligheten) för Exchange saknas: sätt "
        f"{EWS_SECRET_VARIABLE} eller ews_secret_block",
        missing_field="ews_username",
    )


def mailbox_address(settings: Settings) -> str:
    return settings.ews_mailbox or settings.sender_address


def connect(settings: Settings, *, fail_fast: bool = False) -> Account:
    """An exchangelib Account for the remiss mailbox (no server call is made yet)."""
    if not settings.ews_url and not settings.ews_autodiscover:
        raise InputError("EWS-adressen saknas (eller sätt ews_autodiscover: true)", field="ews_url")
    _register_key_property()
    mailbox = mailbox_address(settings)
    secret = ews_secret(settings)
    credentials: Any
    if settings.ews_auth == "oauth2":
        if not (settings.ews_client_id and settings.ews_tenant_id):
            raise InputError("OAuth2 kräver ews_client_id och ews_tenant_id", field="ews_auth")
        credentials = OAuth2Credentials(
            client_id=settings.ews_client_id,
            client_secret=secret,
            tenant_id=settings.ews_tenant_id,
            identity=Identity(primary_smtp_address=mailbox),
        )
    else:
        if not settings.ews_username:
            raise InputError("användarnamnet för Exchange saknas", field="ews_username")
        credentials = Credentials(settings.ews_username, secret)
    auth_type = {"ntlm": NTLM, "basic": BASIC, "oauth2": OAUTH2}[settings.ews_auth]
    config = Configuration(
        service_endpoint=None if settings.ews_autodiscover else settings.ews_url,
        credentials=credentials,
        auth_type=auth_type,
        version=None if settings.ews_autodiscover else server_version(settings.ews_version),
        retry_policy=None if fail_fast else _NoRetryOn500(max_wait=settings.ews_max_wait_seconds),
        # One connection: see the module docstring (no re-send inside exchangelib).
        max_connections=1,
    )
    account = Account(
        primary_smtp_address=mailbox,
        config=config,
        autodiscover=settings.ews_autodiscover,
        access_type=IMPERSONATION if settings.ews_access == "impersonation" else DELEGATE,
    )
    account.protocol.TIMEOUT = settings.ews_timeout_seconds
    return account


def clear_connections() -> None:
    """exchangelib caches a protocol per endpoint and credentials; start afresh."""
    Protocol.clear_cache()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"Exchange: {type(exc).__name__}: {text}"[:500]


# What the handläggare reads for the permanent errors they can act on.
_REFUSED = {
    "ErrorInvalidRecipients": "Exchange tog inte emot mottagarens adress",
    "ErrorNonExistentMailbox": "Mottagarens brevlåda finns inte",
    "ErrorMailRecipientNotFound": "Mottagaren finns inte",
    "ErrorSendAsDenied": "Remissbrevlådan får inte skicka som avsändaren",
    "ErrorMessageSizeExceeded": "Meddelandet är större än Exchange tar emot",
}


def _item_error(exc: BaseException) -> MailError:
    if isinstance(exc, _TEMPORARY_ITEM_ERRORS):
        return TemporaryMailError(_describe(exc))
    reason = _REFUSED.get(type(exc).__name__)
    if reason:
        return PermanentMailError(
            f"{reason} ({_describe(exc)}). Rätta adressen (eller meddelandet) och skicka "
            "igen till den remissinstansen."
        )
    return PermanentMailError(_describe(exc))


class _CreateEachItem(CreateItem):  # type: ignore[misc]
    """CreateItem whose per-message errors are that message's result.

    exchangelib returns only a few per-message errors and raises the rest for the whole
    call, although the server has handled every message of it: one refused address then
    looked like a failure of the batch, and the message was tried again and again. And a
    per-message busy error made exchangelib post the whole call again, re-sending what
    had gone out. Here every error Exchange gives for one message belongs to it alone.
    """

    ERRORS_TO_CATCH_IN_RESPONSE = ews_errors.ResponseMessageError


# Exchange refuses a request past its size limit (on premises, the EWS site's
# maxAllowedContentLength and maxRequestLength), and every message travels as its whole
# MIME, base64-encoded in the XML. A remiss with a 3 MB PDF to 100 remissinstanser was one
# 550 MB CreateItem; now each call carries at most this much MIME (about 27 MB of request).
CALL_MIME_BYTES = 20 * 1024 * 1024


def _call_sizes(sizes: Sequence[int], limit: int | None = None) -> list[int]:
    """How many of the messages, in order, each CreateItem carries: as many as fit in
    `limit` bytes of MIME, and always at least one."""
    limit = CALL_MIME_BYTES if limit is None else limit
    calls: list[int] = []
    count = total = 0
    for size in sizes:
        if count and total + size > limit:
            calls.append(count)
            count = total = 0
        count += 1
        total += size
    if count:
        calls.append(count)
    return calls


class ExchangeMailer:
    """Sends through EWS; see the module docstring for the exactly-once argument."""

    name = "exchange"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.batch_size = settings.ews_batch_size
        self._account: Account | None = None

    @property
    def account(self) -> Account:
        if self._account is None:
            self._account = connect(self.settings)
        return self._account

    def _message(self, email: OutgoingEmail) -> Message:
        flag: dict[str, Any] = {}
        if email.follow_up is not None:
            flag = {
                "flag_request": email.follow_up.request,
                "reply_time": _ews_time(email.follow_up.due),
                "flag_status": FLAGGED,
                "task_start_date": _ews_time(email.follow_up.start),
                "task_due_date": _ews_time(email.follow_up.due),
            }
        return Message(
            account=self.account,
            folder=self.account.sent,
            mime_content=email.mime_bytes(),
            is_delivery_receipt_requested=True,
            remiss_key=email.idempotency_key,
            **flag,
        )

    def send(self, message: OutgoingEmail) -> str:
        (result,) = next(self.send_many([message]))
        if isinstance(result, MailError):
            raise result
        return result

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]:
        """One CreateItem per batch, yielding one group: per message its Message-ID or the
        error Exchange gave.

        Raises TemporaryMailError when the call as a whole failed: some of the messages
        may have gone out, and `find_sent` tells which.
        """
        if not messages:
            return
        try:
            items = [self._message(m) for m in messages]
        except InputError:
            raise
        except Exception as exc:
            raise TemporaryMailError(_describe(exc)) from exc
        done = 0
        for size in _call_sizes([len(item.mime_content) for item in items]):
            part, done = slice(done, done + size), done + size
            try:
                results = list(
                    _CreateEachItem(account=self.account, chunk_size=self.batch_size).call(
                        items=items[part],
                        folder=self.account.sent,
                        message_disposition=SEND_AND_SAVE_COPY,
                        send_meeting_invitations=SEND_TO_NONE,
                    )
                )
            except InputError:
                raise
            except Exception as exc:
                raise TemporaryMailError(_describe(exc)) from exc
            if len(results) != size:
                # Exchange answered, but not for each message: treat all as unknown.
                raise TemporaryMailError(
                    f"Exchange svarade för {len(results)} av {size} meddelanden"
                )
            yield [
                _item_error(result) if isinstance(result, BaseException) else message.message_id
                for message, result in zip(messages[part], results, strict=True)
            ]

    def find_sent(self, idempotency_key: str) -> str | None:
        try:
            found = list(
                self.account.sent.filter(remiss_key=idempotency_key).only("message_id")[:1]
            )
        except Exception as exc:
            raise TemporaryMailError(_describe(exc)) from exc
        if not found:
            return None
        return str(found[0].message_id or f"ews:{found[0].id}")


@dataclass(frozen=True)
class _Ref:
    id: str
    changekey: str


class ExchangeMailbox:
    """The remiss mailbox's inbox, read through EWS."""

    name = "exchange"

    def __init__(self, settings: Settings, account: Account | None = None) -> None:
        self.settings = settings
        self._account = account
        self._folders: dict[str, Folder] = {}

    @property
    def account(self) -> Account:
        if self._account is None:
            self._account = connect(self.settings)
        return self._account

    def folder(self, which: str, *, create: bool = True) -> Folder | None:
        """The processed or unmatched folder under the inbox, created on first use."""
        name = (
            self.settings.ews_processed_folder
            if which == "processed"
            else self.settings.ews_unmatched_folder
        )
        if name in self._folders:
            return self._folders[name]
        inbox = self.account.inbox
        found = next((f for f in inbox.children if f.name == name), None)
        if found is None and create:
            found = Folder(parent=inbox, name=name)
            found.save()
        if found is not None:
            self._folders[name] = found
        return found

    def fetch(self, limit: int) -> list[InboxItem]:
        items = (
            self.account.inbox.all()
            .order_by("datetime_received")
            .only("id", "changekey", "item_class", "mime_content")[:limit]
        )
        return [
            InboxItem(
                ref=f"{item.id}\n{item.changekey}",
                item_class=str(item.item_class or "IPM.Note"),
                mime=bytes(item.mime_content or b""),
            )
            for item in items
        ]

    def file(self, item: InboxItem, folder: str) -> None:
        """Mark the item as processed, then move it out of the inbox."""
        item_id, _, changekey = item.ref.partition("\n")
        target = self.folder(folder)
        message = Message(account=self.account, folder=self.account.inbox, id=item_id)
        message.changekey = changekey
        message.categories = [PROCESSED_CATEGORY]
        message.is_read = True
        try:
            message.save(update_fields=["categories", "is_read"])
        except ews_errors.ErrorItemNotFound:
            return  # Moved by an earlier poll that stopped before it recorded the move.
        try:
            message.move(to_folder=target)
        except ews_errors.ErrorItemNotFound:
            return  # Moved meanwhile by a poll running beside this one.

    def list_folder(self, folder: str, limit: int = 200) -> list[InboxItem]:
        target = self.folder(folder, create=False)
        if target is None:
            return []
        return [
            InboxItem(
                ref=f"{item.id}\n{item.changekey}",
                item_class=str(item.item_class or "IPM.Note"),
                mime=bytes(item.mime_content or b""),
            )
            for item in target.all()
            .order_by("-datetime_received")
            .only("id", "changekey", "item_class", "mime_content")[:limit]
        ]


def check(settings: Settings) -> list[str]:
    """Connect and report what was found, line by line; raise RemissError with the cause."""
    lines = [
        f"EWS-adress: {settings.ews_url or '(autodiscover)'}",
        f"Serverversion: {settings.ews_version}",
        f"Inloggning: {settings.ews_auth}"
        + (f" som {settings.ews_username}" if settings.ews_username else ""),
        f"Brevlåda: {mailbox_address(settings)} ({settings.ews_access})",
    ]
    if settings.ews_url and not settings.ews_autodiscover:
        _probe_url(settings.ews_url, settings.ews_timeout_seconds)
    clear_connections()
    account = connect(settings, fail_fast=True)
    try:
        inbox = account.inbox
        sent = account.sent
        lines.append(f"Inkorgen: {inbox.total_count} meddelanden, {inbox.unread_count} olästa")
        lines.append(f"Skickat: {sent.total_count} meddelanden")
        mailbox = ExchangeMailbox(settings, account)
        for which in ("processed", "unmatched"):
            folder = mailbox.folder(which, create=False)
            name = (
                settings.ews_processed_folder
                if which == "processed"
                else settings.ews_unmatched_folder
            )
            lines.append(
                f"Mappen {name}: "
                + (
                    "finns"
                    if folder is not None
                    else "finns inte ännu (skapas vid första läsningen)"
                )
            )
    except ews_errors.UnauthorizedError as exc:
        raise RemissError(
            f"Exchange godtog inte inloggningen som {settings.ews_username} "
            f"({settings.ews_auth}): fel användarnamn eller lösenord, eller fel "
            "inloggningsmetod (ews_auth)."
        ) from exc
    except ews_errors.ErrorNonExistentMailbox as exc:
        raise RemissError(
            f"Brevlådan {mailbox_address(settings)} finns inte på servern (ews_mailbox)."
        ) from exc
    except ews_errors.ErrorImpersonateUserDenied as exc:
        raise RemissError(
            f"{settings.ews_username} får inte agera som {mailbox_address(settings)} "
            "(impersonation): ge kontot rollen ApplicationImpersonation, eller använd "
            "ews_access: delegate med fullständig behörighet till brevlådan."
        ) from exc
    except (ews_errors.ErrorAccessDenied, ews_errors.ErrorFolderNotFound) as exc:
        raise RemissError(
            f"{settings.ews_username} saknar behörighet till brevlådan "
            f"{mailbox_address(settings)}: ge kontot fullständig åtkomst (delegate) "
            "eller rollen ApplicationImpersonation. Exchange svarade: "
            f"{exc}"
        ) from exc
    except ews_errors.EWSError as exc:
        raise RemissError(f"Exchange svarade med ett fel: {_describe(exc)}") from exc
    finally:
        clear_connections()
    return lines


def _probe_url(url: str, timeout: int) -> None:
    """Tell a wrong address from wrong credentials before exchangelib blurs the two."""
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.exceptions.SSLError as exc:
        raise RemissError(
            f"TLS-certifikatet för {url} kunde inte kontrolleras: {exc}. Om servern har ett "
            "certifikat från en intern CA, peka REQUESTS_CA_BUNDLE på CA-filen."
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise RemissError(
            f"Kunde inte nå Exchange på {url}: {type(exc).__name__}. Kontrollera adressen "
            "(ews_url), att servern är igång och att brandväggen släpper igenom."
        ) from exc
    if response.status_code == 404:
        raise RemissError(
            f"{url} svarade 404 (finns inte): EWS-adressen slutar oftast på "
            "/EWS/Exchange.asmx (ews_url)."
        )
    if response.status_code in (301, 302, 303, 307, 308):
        raise RemissError(
            f"{url} skickar vidare till {response.headers.get('location')}: ange den "
            "slutliga EWS-adressen (ews_url)."
        )
