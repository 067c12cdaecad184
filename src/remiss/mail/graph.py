"""The Microsoft Graph backend (`mail_backend: graph`): Exchange Online through Graph v1.0.

Authentication: OAuth2 client credentials through msal, one application (and so one token
cache) per process and app registration; msal hands out the cached token and fetches a
new one before it expires. A token Graph no longer accepts (401) is dropped and fetched
again once; a second 401 is a configuration fault (consent, tenant), raised as
`GraphAccessError` with what to do, never as a per-message failure.

Sending exactly once: each message is created as a draft carrying its idempotency key
twice, as the `X-Remiss-Key` header (`internetMessageHeaders`) and as a single-value
extended property in a fixed namespace, then sent (`POST …/send`). The draft is chosen
over `sendMail` because the key lives on one item from the first call on: after an
ambiguous failure `find_sent` searches the whole mailbox for the key, and the item's
`isDraft` says whether it went out. `sendMail` answers 202 with nothing to identify
the message, and its copy reaches Sent Items only later, so a look-up right after a
timeout could miss it and send again. A draft found unsent is sent as it is, so no
second draft is made. Attachments that would make the request larger than 3 MB go
through an upload session, which only exists for drafts anyway. (`bench/graph_fanout.py
--compare` measures both ways under the same faults.)

Batching: a fan-out sends up to 20 messages with two JSON batches (`$batch`), one making
their drafts and one sending them, instead of two requests per message. Each request in a
batch has its own answer: one refused recipient fails only its own message, a throttled
request is sent again after its Retry-After, and a sending batch that gets no answer at
all is ambiguous for each of its messages, as a single send would be.

The Outlook flag: a remissmissiv's draft carries its follow-up (`mail.base.FollowUp`) as
the `flag` of the sent item and as PidTagReplyTime and PidLidFlagRequest, which Exchange
hands on to the recipients (as `Reply-By` and `X-Message-Flag` outside the organisation),
so the svarsdag stands in the official's own task list.

Throttling: 429 and 503 mean that Graph refused the request; they are waited out as
`Retry-After` says, within `ews_max_wait_seconds` (the one retry budget of both Exchange
backends). Timeouts, dropped connections and other 5xx are ambiguous and reach the
caller as TemporaryMailError: `remiss.sending` asks `find_sent` before it sends again.
At most `mail_concurrency` send tasks talk to the server at once (the Prefect limit), each
one request at a time, so keep `mail_concurrency` at Graph's four per mailbox.

Reading: a delta query on the inbox lists new messages; the delta link and the ids it
has handed out but the poll has not yet filed are kept in a file under `data_dir`
(written whole or not at all), so that a restart neither loses nor reads an item twice
(the poll records each message by its Message-ID in any case). Filed items are marked
with a category and moved to `ews_processed_folder` or `ews_unmatched_folder`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

import msal  # type: ignore[import-untyped]
import requests

from remiss.core.errors import InputError, RemissError
from remiss.core.settings import GRAPH_SECRET_VARIABLE, Settings
from remiss.mail.base import (
    KEY_HEADER,
    Folder,
    InboxItem,
    MailError,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
)
from remiss.mail.secrets import load_secret

# The idempotency key's extended property: a named string property in a namespace of
# our own (a fixed GUID), filterable with singleValueExtendedProperties/any(...).
KEY_NAMESPACE = "{5b6f2f8e-6a56-4c1b-9d0e-6b1f4e2a9c31}"
KEY_PROPERTY_ID = f"String {KEY_NAMESPACE} Name RemissIdempotencyKey"
# PR_MESSAGE_CLASS: tells delivery reports and read receipts from replies.
ITEM_CLASS_ID = "String 0x001A"
PROCESSED_CATEGORY = "Remiss behandlad"
# Graph refuses requests over 4 MB; attachments past this many bytes in all go through
# an upload session (Microsoft's advice: 3 MB).
INLINE_LIMIT = 3 * 1024 * 1024
# Upload-session chunks must be multiples of 320 KiB.
CHUNK = 320 * 1024 * 10
# JSON batching: at most 20 requests in one $batch, which like any request must stay
# under 4 MB (the drafts' inline attachments count).
BATCH_LIMIT = 20
BATCH_BYTES = 3 * 1024 * 1024
# The follow-up flag for the recipients ([MS-OXOFLAG]): PidTagReplyTime, and
# PidLidFlagRequest, without which Exchange writes no Reply-By for outside recipients.
REPLY_TIME_ID = "SystemTime 0x0030"
FLAG_REQUEST_ID = "String {00062008-0000-0000-C000-000000000046} Id 0x8530"


class GraphAccessError(RemissError):
    """The app may not do what remiss asks (consent, tenant, access policy, secret).

    Not a per-message failure: nothing is marked failed, the send stops with this message
    and the messages are tried again once the set-up is put right.
    """


def graph_secret(settings: Settings) -> str:
    """The client secret: REMISS_GRAPH_SECRET, else the Prefect Secret block."""
    return load_secret(
        variable=GRAPH_SECRET_VARIABLE,
        block=settings.graph_secret_block,
        block_field="graph_secret_block",
        missing=f"klienthemligheten för Microsoft Graph saknas: sätt {GRAPH_SECRET_VARIABLE} "
        "eller graph_secret_block",
        missing_field="graph_client_id",
    )


def mailbox_address(settings: Settings) -> str:
    return settings.graph_mailbox or settings.sender_address


def _verify(settings: Settings) -> str | bool:
    return str(settings.graph_ca_file) if settings.graph_ca_file else True


class _Session(requests.Session):
    """A session whose own `verify` wins: requests otherwise lets REQUESTS_CA_BUNDLE from
    the environment override it, and graph_ca_file would be ignored."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def _session(settings: Settings) -> requests.Session:
    session = _Session()
    session.verify = _verify(settings)
    return session


# One msal application per app registration and process: its token cache is shared by
# every mailer and mailbox, so a token is fetched once and renewed before it expires.
_apps: dict[tuple[str, ...], Any] = {}
_apps_lock = threading.Lock()


def clear_tokens() -> None:
    """Forget every application and token (tests; after a change of secret)."""
    with _apps_lock:
        _apps.clear()


def _token_error(result: dict[str, Any], settings: Settings) -> GraphAccessError:
    """What the handläggare or the operator reads for a refused token request."""
    codes = " ".join(str(c) for c in result.get("error_codes", []))
    text = str(result.get("error_description") or result.get("error") or "")
    described = f"(inloggningstjänsten svarade: {text.splitlines()[0][:300] if text else '?'})"
    if "90002" in codes or "AADSTS90002" in text:
        return GraphAccessError(
            f"Klientorganisationen (tenant) {settings.graph_tenant_id} finns inte: kontrollera "
            f"graph_tenant_id {described}."
        )
    if "700016" in codes or "AADSTS700016" in text:
        return GraphAccessError(
            f"Appen {settings.graph_client_id} finns inte i klientorganisationen "
            f"{settings.graph_tenant_id}: fel tenant eller klient-id, eller så har ingen "
            f"administratör godkänt appen där (administratörsmedgivande) {described}."
        )
    if any(c in codes or f"AADSTS{c}" in text for c in ("7000215", "7000222")):
        return GraphAccessError(
            "Klienthemligheten för Microsoft Graph är fel eller har gått ut: skapa en ny i "
            f"appregistreringen och sätt {GRAPH_SECRET_VARIABLE} (eller graph_secret_block) "
            f"{described}."
        )
    return GraphAccessError(f"Microsoft Graph gav ingen åtkomsttoken {described}.")


class _Reply(Protocol):
    """An HTTP answer: a requests.Response, or one request's answer inside a $batch."""

    @property
    def status_code(self) -> int: ...

    @property
    def ok(self) -> bool: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


@dataclass(frozen=True)
class _BatchReply:
    """One request's answer inside a $batch answer."""

    status_code: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return json.dumps(self.body)

    def json(self) -> Any:
        return self.body


_R = TypeVar("_R", bound=_Reply)


def _describe(response: _Reply) -> str:
    try:
        error = response.json().get("error", {})
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except ValueError:
        code, message = "", response.text[:200]
    return f"Microsoft Graph: HTTP {response.status_code} {code}: {message}".strip()[:500]


def _code(response: _Reply) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except ValueError:
        return ""


# What the handläggare reads for the per-message refusals they can act on.
_REFUSED = {
    "ErrorInvalidRecipients": "Exchange Online tog inte emot mottagarens adress",
    "ErrorRecipientNotFound": "Mottagaren finns inte",
    "ErrorSendAsDenied": "Remissbrevlådan får inte skicka som avsändaren",
    "ErrorMessageSizeExceeded": "Meddelandet är större än Exchange Online tar emot",
}


class GraphClient:
    """Authenticated calls to Graph for one mailbox, with throttling waited out."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mailbox = mailbox_address(settings)
        self.base = f"{settings.graph_url}/users/{quote(self.mailbox)}"
        self.session = _session(settings)
        self.timeout = settings.ews_timeout_seconds
        origin = settings.graph_url.split("/", 3)
        self.scope = f"{origin[0]}//{origin[2]}/.default"

    def _app(self) -> Any:
        s = self.settings
        if not (s.graph_tenant_id and s.graph_client_id):
            raise InputError(
                "Microsoft Graph kräver graph_tenant_id och graph_client_id",
                field="graph_tenant_id" if not s.graph_tenant_id else "graph_client_id",
            )
        secret = graph_secret(s)
        key = (s.graph_authority, s.graph_tenant_id, s.graph_client_id, secret, str(_verify(s)))
        with _apps_lock:
            app = _apps.get(key)
            if app is None:
                http = _session(s)
                try:
                    app = msal.ConfidentialClientApplication(
                        s.graph_client_id,
                        client_credential=secret,
                        authority=f"{s.graph_authority}/{s.graph_tenant_id}",
                        # Not only Microsoft's public cloud: a national cloud or the
                        # loopback test server are named by graph_authority.
                        validate_authority=False,
                        instance_discovery=False,
                        http_client=http,
                        timeout=self.timeout,
                    )
                except ValueError as exc:
                    # msal's discovery of the tenant's endpoints answered 4xx.
                    raise GraphAccessError(
                        f"Klientorganisationen (tenant) {s.graph_tenant_id} finns inte hos "
                        f"{s.graph_authority}: kontrollera graph_tenant_id och "
                        f"graph_authority ({str(exc)[:200]})."
                    ) from exc
                except requests.RequestException as exc:
                    raise TemporaryMailError(
                        f"Kunde inte nå inloggningstjänsten {s.graph_authority}: "
                        f"{type(exc).__name__}"
                    ) from exc
                _apps[key] = app
        return app

    def token(self) -> str:
        app = self._app()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except requests.RequestException as exc:
            raise TemporaryMailError(
                f"Kunde inte nå inloggningstjänsten {self.settings.graph_authority}: "
                f"{type(exc).__name__}"
            ) from exc
        if "access_token" in result:
            return str(result["access_token"])
        if str(result.get("error", "")) in ("temporarily_unavailable", "server_error"):
            raise TemporaryMailError(f"Inloggningstjänsten: {result.get('error_description')}")
        raise _token_error(result, self.settings)

    def forget_token(self) -> None:
        self._app().remove_tokens_for_client()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        """One call; 429/503 waited out within the budget, a stale token renewed once.

        Raises TemporaryMailError when the call may or may not have taken effect.
        """
        if not url.startswith("https://"):
            url = self.base + url
        budget = time.monotonic() + self.settings.ews_max_wait_seconds
        renewed = False
        while True:
            token = self.token()
            try:
                response = self.session.request(
                    method,
                    url,
                    json=body,
                    params=params,
                    headers={"Authorization": f"Bearer {token}", **(headers or {})},
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                raise TemporaryMailError(
                    f"Microsoft Graph: {type(exc).__name__} vid {method} "
                    f"{url.removeprefix(self.base)[:120]}"
                ) from exc
            if response.status_code in (429, 503):
                wait = _retry_after(response)
                if time.monotonic() + wait > budget:
                    raise TemporaryMailError(
                        f"{_describe(response)} (väntade längre än ews_max_wait_seconds)"
                    )
                time.sleep(wait)
                continue
            if response.status_code == 401 and not renewed:
                # The token may have been revoked or expired early: fetch a new one, once.
                renewed = True
                self.forget_token()
                continue
            return response

    def check(self, response: _R, what: str) -> _R:
        """Raise for the answers that concern the set-up, not one message."""
        if response.ok:
            return response
        code = _code(response)
        if response.status_code == 401:
            raise GraphAccessError(
                f"Microsoft Graph godtog inte appens token när den skulle {what}: appen "
                f"saknar godkända programbehörigheter (Mail.Send, Mail.ReadWrite). Be en "
                f"administratör ge administratörsmedgivande i appregistreringen "
                f"({_describe(response)})."
            )
        if response.status_code == 403:
            text = response.text
            if "AccessPolicy" in text or "RAOP" in text:
                raise GraphAccessError(
                    f"Åtkomstpolicyn för appen stänger ute brevlådan {self.mailbox}: lägg "
                    "brevlådan i gruppen som New-ApplicationAccessPolicy (eller RBAC för "
                    f"program) begränsar appen till ({_describe(response)})."
                )
            raise GraphAccessError(
                f"Appen får inte {what} i brevlådan {self.mailbox}: ge den "
                "programbehörigheterna Mail.Send och Mail.ReadWrite med "
                f"administratörsmedgivande ({_describe(response)})."
            )
        if response.status_code == 404 and code in (
            "ErrorInvalidUser",
            "MailboxNotEnabledForRESTAPI",
            "ResourceNotFound",
            "ErrorNonExistentMailbox",
        ):
            raise GraphAccessError(
                f"Brevlådan {self.mailbox} finns inte i Exchange Online (graph_mailbox) "
                f"({_describe(response)})."
            )
        if response.status_code >= 500:
            raise TemporaryMailError(_describe(response))
        return response

    def batch(self, calls: Sequence[tuple[str, str, Any]]) -> list[_BatchReply]:
        """Up to BATCH_LIMIT calls (method, path under the mailbox, body) in one $batch.

        The answers come in the calls' order. A call refused with 429 or 503 is sent
        again in a smaller batch as its Retry-After says, within ews_max_wait_seconds;
        past that its refusal is its answer. Raises TemporaryMailError when the batch as
        a whole got no answer (any of its calls may have been done).
        """
        budget = time.monotonic() + self.settings.ews_max_wait_seconds
        prefix = self.base.removeprefix(self.settings.graph_url)
        answers: dict[int, _BatchReply] = {}
        waiting = list(range(len(calls)))
        while waiting:
            requests_ = []
            for i in waiting:
                method, path, body = calls[i]
                request: dict[str, Any] = {"id": str(i), "method": method, "url": prefix + path}
                if body is not None:
                    request |= {"body": body, "headers": {"Content-Type": "application/json"}}
                requests_.append(request)
            response = self.check(
                self.request(
                    "POST", f"{self.settings.graph_url}/$batch", body={"requests": requests_}
                ),
                "skicka flera anrop på en gång",
            )
            if not response.ok:
                raise TemporaryMailError(_describe(response))
            throttled, wait, got = [], 0.0, set()
            for answer in response.json().get("responses", []):
                i, reply = int(answer["id"]), _BatchReply(int(answer["status"]), answer.get("body"))
                if reply.status_code in (429, 503):
                    throttled.append(i)
                    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
                    wait = max(wait, _seconds(headers.get("retry-after", "")))
                answers[i] = reply
                got.add(i)
            if not got.issuperset(waiting):
                raise TemporaryMailError("Microsoft Graph svarade inte för varje anrop i gruppen")
            if throttled and time.monotonic() + wait > budget:
                for i in throttled:
                    error = dict(answers[i].json().get("error") or {})
                    error["message"] = (
                        f"{error.get('message', '')} (väntade längre än ews_max_wait_seconds)"
                    )
                    answers[i] = _BatchReply(answers[i].status_code, {"error": error})
                break
            if not throttled:
                break
            time.sleep(wait)
            waiting = sorted(throttled)
        return [answers[i] for i in range(len(calls))]


def _retry_after(response: requests.Response) -> float:
    return _seconds(response.headers.get("Retry-After", ""))


def _seconds(value: str) -> float:
    # Graph gives seconds; an HTTP date (which would need the clock) counts as a second.
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def _graph_time(instant: dt.datetime) -> dict[str, str]:
    return {
        "dateTime": instant.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "timeZone": "UTC",
    }


def _recipients(addresses: Sequence[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": a}} for a in addresses]


def _key_filter(key: str) -> str:
    value = key.replace("'", "''")
    return (
        f"singleValueExtendedProperties/any(ep: ep/id eq '{KEY_PROPERTY_ID}' "
        f"and ep/value eq '{value}')"
    )


def _refusal(response: _Reply) -> MailError:
    """What a refused send is for the message: for good, or worth trying again."""
    reason = _REFUSED.get(_code(response))
    if reason:
        return PermanentMailError(
            f"{reason} ({_describe(response)}). Rätta adressen (eller meddelandet) och "
            "skicka igen till den remissinstansen."
        )
    if response.status_code == 413:
        return PermanentMailError(
            f"Meddelandet är större än Exchange Online tar emot ({_describe(response)})."
        )
    if response.status_code in (429, 503) or not 400 <= response.status_code < 500:
        return TemporaryMailError(_describe(response))
    return PermanentMailError(_describe(response))


class GraphMailer:
    """Sends through Graph as drafts; see the module docstring for the exactly-once argument."""

    name = "graph"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.batch_size = settings.graph_batch_size
        self.client = GraphClient(settings)
        # Drafts found unsent by find_sent, to be sent instead of making new ones.
        self._drafts: dict[str, str] = {}

    def draft(self, email: OutgoingEmail) -> dict[str, Any]:
        inline, large = [], []
        size = 0
        for att in email.attachments:
            if size + len(att.data) <= INLINE_LIMIT:
                size += len(att.data)
                inline.append(att)
            else:
                large.append(att)
        body: dict[str, Any] = {
            "subject": email.subject,
            "body": {"contentType": "HTML", "content": email.html},
            "from": {"emailAddress": {"address": email.sender, "name": email.sender_name}},
            "toRecipients": _recipients(email.to),
            "ccRecipients": _recipients(email.cc),
            "replyTo": _recipients([email.reply_to] if email.reply_to else []),
            "internetMessageId": email.message_id,
            "isDeliveryReceiptRequested": True,
            "internetMessageHeaders": [{"name": KEY_HEADER, "value": email.idempotency_key}],
            "singleValueExtendedProperties": [
                {"id": KEY_PROPERTY_ID, "value": email.idempotency_key}
            ],
            "attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": att.filename,
                    "contentType": att.content_type,
                    "contentBytes": base64.b64encode(att.data).decode("ascii"),
                }
                for att in inline
            ],
        }
        if email.follow_up is not None:
            due, start = _graph_time(email.follow_up.due), _graph_time(email.follow_up.start)
            # On the sent item, for the handläggare; the properties travel to the recipients.
            body["flag"] = {"flagStatus": "flagged", "startDateTime": start, "dueDateTime": due}
            body["singleValueExtendedProperties"] += [
                {"id": REPLY_TIME_ID, "value": f"{due['dateTime']}Z"},
                {"id": FLAG_REQUEST_ID, "value": email.follow_up.request},
            ]
        return {"body": body, "large": large}

    def _create(self, email: OutgoingEmail) -> str:
        built = self.draft(email)
        response = self.client.request("POST", "/messages", body=built["body"])
        self._refused(self.client.check(response, "skapa ett utkast"))
        message_id = str(response.json()["id"])
        for att in built["large"]:
            self._upload(message_id, att.filename, att.content_type, att.data)
        return message_id

    def _upload(self, message_id: str, filename: str, content_type: str, data: bytes) -> None:
        response = self.client.request(
            "POST",
            f"/messages/{quote(message_id)}/attachments/createUploadSession",
            body={
                "AttachmentItem": {
                    "attachmentType": "file",
                    "name": filename,
                    "size": len(data),
                    "contentType": content_type,
                }
            },
        )
        self._refused(self.client.check(response, "ladda upp en bilaga"))
        upload_url = str(response.json()["uploadUrl"])
        for start in range(0, len(data), CHUNK):
            chunk = data[start : start + CHUNK]
            try:
                # The upload URL carries its own authorisation; a bearer token is refused.
                put = self.client.session.put(
                    upload_url,
                    data=chunk,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{len(data)}",
                    },
                    timeout=self.client.timeout,
                )
            except requests.RequestException as exc:
                raise TemporaryMailError(
                    f"Microsoft Graph: {type(exc).__name__} vid uppladdning"
                ) from exc
            if not put.ok:
                raise TemporaryMailError(_describe(put))

    def _refused(self, response: _Reply) -> None:
        if not response.ok:
            raise _refusal(response)

    def send(self, message: OutgoingEmail) -> str:
        key = message.idempotency_key
        draft_id = self._drafts.pop(key, None) or self._create(message)
        try:
            response = self.client.request("POST", f"/messages/{quote(draft_id)}/send")
        except TemporaryMailError:
            self._drafts[key] = draft_id  # if find_sent finds it unsent, it is sent as it is
            raise
        if _code(response) == "ErrorItemNotFound":
            # Sent meanwhile by a call whose answer was lost: find_sent will say so.
            raise TemporaryMailError(_describe(response))
        self._refused(self.client.check(response, "skicka e-post"))
        return message.message_id

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]:
        """Up to BATCH_LIMIT messages at a time: their drafts made in one $batch and sent
        in another, one group of results per batch.

        Raises TemporaryMailError when the sending batch got no answer: any of its
        messages may have gone out, and `find_sent` tells which (their drafts are
        remembered, so that one found unsent is sent as it is).
        """
        for start in range(0, len(messages), BATCH_LIMIT):
            yield self._send_batch(messages[start : start + BATCH_LIMIT])

    def _send_batch(self, emails: Sequence[OutgoingEmail]) -> list[str | MailError]:
        results: dict[int, str | MailError] = {}
        drafts: dict[int, str] = {}
        built: dict[int, dict[str, Any]] = {}
        for i, email in enumerate(emails):
            known = self._drafts.pop(email.idempotency_key, None)
            if known is not None:
                drafts[i] = known
                continue
            built[i] = self.draft(email)
            if built[i]["large"]:  # an upload session is one draft's own conversation
                try:
                    drafts[i] = self._create(email)
                except MailError as exc:
                    results[i] = exc
                del built[i]
        # The drafts, as many to a batch as fit; making one sends nothing, so a batch
        # without an answer fails only its own messages, for now.
        for group in _batches({i: len(json.dumps(b["body"])) for i, b in built.items()}):
            try:
                answers = self.client.batch(
                    [("POST", "/messages", built[i]["body"]) for i in group]
                )
            except TemporaryMailError as exc:
                results.update(dict.fromkeys(group, exc))
                continue
            for i, answer in zip(group, answers, strict=True):
                if answer.ok:
                    drafts[i] = str(answer.json()["id"])
                else:
                    results[i] = _refusal(self.client.check(answer, "skapa ett utkast"))
        order = sorted(drafts)
        try:
            answers = (
                self.client.batch(
                    [("POST", f"/messages/{quote(drafts[i])}/send", None) for i in order]
                )
                if order
                else []
            )
        except TemporaryMailError:
            for i in order:
                self._drafts[emails[i].idempotency_key] = drafts[i]
            raise
        for i, answer in zip(order, answers, strict=True):
            if answer.ok:
                results[i] = emails[i].message_id
                continue
            self._drafts[emails[i].idempotency_key] = drafts[i]
            if _code(answer) == "ErrorItemNotFound" or answer.status_code >= 500:
                # Perhaps sent by a call whose answer was lost: find_sent will say.
                results[i] = TemporaryMailError(_describe(answer))
            else:
                results[i] = _refusal(self.client.check(answer, "skicka e-post"))
        return [results[i] for i in range(len(emails))]

    def find_sent(self, idempotency_key: str) -> str | None:
        """The message's Message-ID if an item with this key left as mail; a draft found
        unsent is remembered, to be sent instead of a new one."""
        response = self.client.request("GET", "/messages", params=_lookup(idempotency_key))
        self.client.check(response, "söka i Skickat")
        if not response.ok:
            raise TemporaryMailError(_describe(response))
        return self._found(idempotency_key, response.json().get("value", []))

    def find_sent_many(self, keys: Sequence[str]) -> list[str | TemporaryMailError | None]:
        """find_sent for many keys, BATCH_LIMIT look-ups to a $batch; a look-up that
        failed is its TemporaryMailError."""
        results: list[str | TemporaryMailError | None] = []
        for start in range(0, len(keys), BATCH_LIMIT):
            chunk = keys[start : start + BATCH_LIMIT]
            calls = [
                ("GET", f"/messages?{urlencode(_lookup(k), quote_via=quote)}", None) for k in chunk
            ]
            try:
                answers = self.client.batch(calls)
            except TemporaryMailError as exc:
                results += [exc] * len(chunk)
                continue
            for key, answer in zip(chunk, answers, strict=True):
                if answer.ok:
                    results.append(self._found(key, answer.json().get("value", [])))
                else:
                    self.client.check(answer, "söka i Skickat")
                    results.append(TemporaryMailError(_describe(answer)))
        return results

    def _found(self, key: str, items: list[dict[str, Any]]) -> str | None:
        for item in items:
            if not item.get("isDraft"):
                return str(item.get("internetMessageId") or f"graph:{item['id']}")
        if items:
            self._drafts[key] = str(items[0]["id"])
        return None


def _lookup(key: str) -> dict[str, str]:
    """The query that finds the items carrying an idempotency key, drafts included."""
    return {"$filter": _key_filter(key), "$select": "id,isDraft,internetMessageId", "$top": "10"}


def _batches(sizes: dict[int, int]) -> Iterator[list[int]]:
    """The messages in order, in groups of at most BATCH_LIMIT and BATCH_BYTES (a
    message larger than that alone)."""
    group: list[int] = []
    total = 0
    for i, size in sizes.items():
        if group and (len(group) == BATCH_LIMIT or total + size > BATCH_BYTES):
            yield group
            group, total = [], 0
        group.append(i)
        total += size
    if group:
        yield group


# --- the mailbox --------------------------------------------------------------------------


@dataclass
class _DeltaState:
    """The delta link to go on from, and the items it handed out that are not yet filed."""

    link: str | None
    pending: dict[str, str]  # id -> receivedDateTime


class GraphMailbox:
    """The remiss mailbox's inbox, read through a delta query."""

    name = "graph"

    def __init__(self, settings: Settings, client: GraphClient | None = None) -> None:
        self.settings = settings
        self.client = client or GraphClient(settings)
        self._folders: dict[str, str] = {}
        safe = "".join(c if c.isalnum() or c in "@.-" else "_" for c in self.client.mailbox)
        self.state_path = settings.data_dir / "graph" / f"delta-{safe}.json"

    # The state file: read and written under a lock, replaced whole.
    @contextlib.contextmanager
    def _locked(self) -> Iterator[_DeltaState]:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read()
                yield state
                self._write(state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> _DeltaState:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return _DeltaState(None, {})
        return _DeltaState(raw.get("link"), dict(raw.get("pending", {})))

    def _write(self, state: _DeltaState) -> None:
        data = json.dumps({"link": state.link, "pending": state.pending}, indent=1).encode()
        fd, tmp = tempfile.mkstemp(dir=self.state_path.parent, prefix=".delta.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _get(self, url: str, what: str, params: dict[str, str] | None = None) -> Any:
        response = self.client.check(self.client.request("GET", url, params=params), what)
        if not response.ok:
            raise RemissError(_describe(response))
        return response.json()

    def sync(self, limit: int) -> None:
        """Follow the delta query until `limit` items are pending or it is up to date.

        Each page's items and the link to the next page are stored together, so a poll
        that stops between pages goes on where it stopped."""
        while True:
            with self._locked() as state:
                if len(state.pending) >= limit:
                    return
                link = state.link
            if link is None:
                page = self._get(
                    "/mailFolders/inbox/messages/delta",
                    "läsa inkorgen",
                    params={"$select": "id,receivedDateTime"},
                )
            else:
                page = self._get(link, "läsa inkorgen")
            with self._locked() as state:
                for item in page.get("value", []):
                    if "@removed" in item:
                        state.pending.pop(str(item["id"]), None)
                    else:
                        state.pending[str(item["id"])] = str(item.get("receivedDateTime", ""))
                state.link = page.get("@odata.nextLink") or page.get("@odata.deltaLink")
            if "@odata.nextLink" not in page:
                return

    def _item(self, item_id: str) -> InboxItem | None:
        path = f"/messages/{quote(item_id)}"
        response = self.client.request(
            "GET",
            path,
            params={
                "$select": "id",
                "$expand": f"singleValueExtendedProperties($filter=id eq '{ITEM_CLASS_ID}')",
            },
        )
        if response.status_code == 404:
            return None
        self.client.check(response, "läsa inkorgen")
        props = response.json().get("singleValueExtendedProperties") or []
        item_class = next((str(p["value"]) for p in props if p.get("id") == ITEM_CLASS_ID), "")
        mime = self.client.request("GET", f"{path}/$value")
        if mime.status_code == 404:
            return None
        self.client.check(mime, "läsa inkorgen")
        return InboxItem(ref=item_id, item_class=item_class or "IPM.Note", mime=mime.content)

    def fetch(self, limit: int) -> list[InboxItem]:
        self.sync(limit)
        with self._locked() as state:
            ids = sorted(state.pending, key=lambda i: state.pending[i])[:limit]
        items = []
        gone = []
        for item_id in ids:
            item = self._item(item_id)
            if item is None:
                gone.append(item_id)  # moved by an earlier poll that stopped before noting it
            else:
                items.append(item)
        if gone:
            with self._locked() as state:
                for item_id in gone:
                    state.pending.pop(item_id, None)
        return items

    def folder(self, which: str, *, create: bool = True) -> str | None:
        name = (
            self.settings.ews_processed_folder
            if which == "processed"
            else self.settings.ews_unmatched_folder
        )
        if name in self._folders:
            return self._folders[name]
        quoted = name.replace("'", "''")
        found = self._get(
            "/mailFolders/inbox/childFolders",
            "läsa mapparna",
            params={"$filter": f"displayName eq '{quoted}'"},
        ).get("value", [])
        if found:
            folder_id = str(found[0]["id"])
        elif create:
            response = self.client.check(
                self.client.request(
                    "POST", "/mailFolders/inbox/childFolders", body={"displayName": name}
                ),
                "skapa en mapp",
            )
            if response.status_code == 409:  # another poll created it meanwhile
                return self.folder(which, create=False)
            if not response.ok:
                raise RemissError(_describe(response))
            folder_id = str(response.json()["id"])
        else:
            return None
        self._folders[name] = folder_id
        return folder_id

    def file(self, item: InboxItem, folder: Folder) -> None:
        """Mark the item as processed, move it out of the inbox, and forget it."""
        target = self.folder(folder)
        path = f"/messages/{quote(item.ref)}"
        patched = self.client.request(
            "PATCH", path, body={"categories": [PROCESSED_CATEGORY], "isRead": True}
        )
        if patched.status_code != 404:
            self.client.check(patched, "markera ett meddelande")
            moved = self.client.request("POST", f"{path}/move", body={"destinationId": target})
            if moved.status_code != 404:
                self.client.check(moved, "flytta ett meddelande")
                if not moved.ok:
                    raise RemissError(_describe(moved))
        with self._locked() as state:
            state.pending.pop(item.ref, None)

    def list_folder(self, folder: Folder, limit: int = 200) -> list[InboxItem]:
        folder_id = self.folder(folder, create=False)
        if folder_id is None:
            return []
        listed = self._get(
            f"/mailFolders/{quote(folder_id)}/messages",
            "läsa mappen",
            params={"$select": "id", "$orderby": "receivedDateTime desc", "$top": str(limit)},
        ).get("value", [])
        items = [self._item(str(m["id"])) for m in listed]
        return [i for i in items if i is not None]


def check(settings: Settings) -> list[str]:
    """Token, mailbox, send permission and Sent Items, each tried; raise with the cause."""
    lines = [
        f"Microsoft Graph: {settings.graph_url}",
        f"Inloggning: {settings.graph_authority}/{settings.graph_tenant_id} som app "
        f"{settings.graph_client_id}",
        f"Brevlåda: {mailbox_address(settings)}",
    ]
    clear_tokens()
    client = GraphClient(settings)
    try:
        client.token()
    except TemporaryMailError as exc:
        raise RemissError(f"{exc}. Kontrollera graph_authority och brandväggen.") from exc
    lines.append("Token: hämtad")
    mailbox = GraphMailbox(settings, client)
    inbox = mailbox._get("/mailFolders/inbox", "läsa inkorgen")
    lines.append(
        f"Inkorgen: {inbox.get('totalItemCount', 0)} meddelanden, "
        f"{inbox.get('unreadItemCount', 0)} olästa"
    )
    sent = mailbox._get("/mailFolders/sentitems", "läsa Skickat")
    lines.append(f"Skickat: {sent.get('totalItemCount', 0)} meddelanden")
    # Send permission without sending anything: whether Mail.Send is granted shows in
    # the token's roles.
    roles = _roles(client.token())
    if roles is not None and "Mail.Send" not in roles:
        raise GraphAccessError(
            "Appen saknar programbehörigheten Mail.Send (eller administratörsmedgivandet "
            "för den): lägg till den i appregistreringen och ge medgivande."
        )
    lines.append("Behörighet att skicka: Mail.Send" if roles else "Behörighet att skicka: okänd")
    for which in ("processed", "unmatched"):
        name = (
            settings.ews_processed_folder if which == "processed" else settings.ews_unmatched_folder
        )
        found = mailbox.folder(which, create=False)
        lines.append(
            f"Mappen {name}: "
            + ("finns" if found is not None else "finns inte ännu (skapas vid första läsningen)")
        )
    return lines


def _roles(token: str) -> list[str] | None:
    """The application roles in an access token (a JWT; read, not verified)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    roles = claims.get("roles")
    return [str(r) for r in roles] if isinstance(roles, list) else None


def state_file(settings: Settings) -> Path:
    """Where the poll keeps its delta link (for the operations guide and the tests)."""
    return GraphMailbox(settings).state_path
