"""A Microsoft Graph v1.0 server on loopback for the tests, with the identity platform's
token endpoint beside it, speaking enough of both for the real client code (msal and
`remiss.mail.graph`).

HTTPS with a certificate made at start (msal accepts only an https authority); the CA
file is `ca_file`. One tenant; apps with a secret, application roles (Mail.Send,
Mail.ReadWrite; none means that no administrator consented) and optionally the
mailboxes an application access policy limits them to. Mailboxes in memory with the
folders inbox, drafts, sentitems and child folders of the inbox.

Served: OIDC discovery and the token endpoint (client credentials, JWT-shaped tokens with
`roles` and `exp`; errors with the AADSTS codes Microsoft gives); for
/v1.0/users/{mailbox}: POST messages (a draft, with internetMessageHeaders,
singleValueExtendedProperties, inline fileAttachments), POST messages/{id}/send, POST
sendMail (its Sent Items copy after `sent_copy_delay` seconds), POST /v1.0/$batch (up to 20
requests, each with its own faults),
attachments/createUploadSession and the upload URL, GET messages with `$filter` on an
extended property, GET messages/{id} (with the message class expanded) and /$value (MIME),
PATCH, move, mailFolders/{id}, mailFolders/{id}/messages, inbox/childFolders (list by
displayName, create) and mailFolders/inbox/messages/delta (paged, with delta links).

Faults, per operation (`fail_next`) or at a rate over all send-side operations
(`fail_rate`): 429 and 503 with Retry-After (nothing done), `timeout_after` (done, then no
answer until the client gives up), `drop_after` (done, the connection closed without an
answer), `drop_before` (closed, nothing done), `500_after` (done, then HTTP 500), and
`expire_tokens()`: every token issued so far is refused from now on.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import itertools
import json
import math
import random
import re
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_PROPERTY_ID = "String {5b6f2f8e-6a56-4c1b-9d0e-6b1f4e2a9c31} Name RemissIdempotencyKey"
ITEM_CLASS_ID = "String 0x001A"
REPLY_TIME_ID = "SystemTime 0x0030"
FLAG_REQUEST_ID = "String {00062008-0000-0000-C000-000000000046} Id 0x8530"
SEND_SIDE = ("create", "send", "upload_session", "find", "sendmail", "batch")
# The faults that lose the connection: a request inside a $batch has none of its own.
CONNECTION = ("timeout_after", "drop_after", "drop_before")
KINDS = ("429", "503", "timeout_after", "drop_after", "drop_before", "500_after")


@dataclass
class App:
    secret: str
    roles: tuple[str, ...] = ("Mail.Send", "Mail.ReadWrite")
    # An application access policy: None lets the app into every mailbox.
    mailboxes: tuple[str, ...] | None = None


@dataclass
class Item:
    id: str
    folder: str
    data: dict[str, Any]
    mime: bytes | None = None
    item_class: str = "IPM.Note"
    is_draft: bool = False
    received: str = ""
    categories: list[str] = field(default_factory=list)
    is_read: bool = False
    uploaded: list[tuple[str, str, bytes]] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        for prop in self.data.get("singleValueExtendedProperties", []):
            if prop.get("id") == KEY_PROPERTY_ID:
                return str(prop.get("value"))
        return None


@dataclass(frozen=True)
class Sent:
    """A message that left the mailbox, as a mail server would have sent it."""

    key: str | None
    recipients: tuple[str, ...]
    headers: dict[str, str]
    flag: dict[str, Any] | None
    attachments: tuple[tuple[str, int], ...]
    mime: bytes


@dataclass
class _Mailbox:
    address: str
    folders: dict[str, tuple[str, str | None]]  # id -> (name, parent id)
    items: dict[str, Item] = field(default_factory=dict)
    changes: list[tuple[int, str, bool]] = field(default_factory=list)  # seq, id, added


@dataclass
class _Fault:
    op: str
    kind: str
    count: int
    retry_after: float
    hang: float


class _Drop(Exception):
    """Close the connection without an answer."""


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.status, self.code, self.message = status, code, message or code


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "remiss test Graph")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "graph.crt", folder / "graph.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Http
    timeout = 30

    def do_GET(self) -> None:
        self.server.graph._serve(self, "GET")

    def do_POST(self) -> None:
        self.server.graph._serve(self, "POST")

    def do_PATCH(self) -> None:
        self.server.graph._serve(self, "PATCH")

    def do_PUT(self) -> None:
        self.server.graph._serve(self, "PUT")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Http(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, graph: GraphServer, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.graph = graph
        self.context = context

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # The handshake in the handler's thread, so that a slow client holds up nobody.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class GraphServer:
    """See the module docstring."""

    def __init__(
        self,
        apps: Mapping[str, App],
        *,
        tenant: str = "kommun.onmicrosoft.example",
        mailboxes: Iterable[str] = (),
        token_lifetime: int = 3600,
        page_size: int = 3,
    ) -> None:
        self.apps = dict(apps)
        self.tenant = tenant
        self.token_lifetime = token_lifetime
        self.page_size = page_size
        self.latency = 0.0
        # sendMail's copy reaches Sent Items only once transport has handled the message.
        self.sent_copy_delay = 0.0
        self.refused: set[str] = set()  # recipients refused with ErrorInvalidRecipients
        self.sent_log: list[Sent] = []
        self.calls: list[str] = []  # each operation, inside a $batch too
        self.http_requests = 0  # to Graph (not the token endpoint), a $batch counting once
        self.tokens_issued = 0
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> app id, expiry
        self._lock = threading.RLock()
        self._boxes: dict[str, _Mailbox] = {}
        self._seq = itertools.count(1)
        self._faults: list[_Fault] = []
        self._rate: tuple[float, tuple[str, ...], random.Random, float, float] | None = None
        self._uploads: dict[str, tuple[str, str, dict[str, Any], bytearray]] = {}
        self._stopping = threading.Event()
        self._http: _Http | None = None
        self._thread: threading.Thread | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="graph-server-"))
        self.ca_file, self._key_file = _certificate(self._dir)
        for address in mailboxes:
            self.add_mailbox(address)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, self._key_file)
        self._stopping.clear()
        self._http = _Http(self, context)
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._http is not None, "GraphServer is not running"
        return f"https://127.0.0.1:{self._http.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/v1.0"

    @property
    def authority(self) -> str:
        return self.origin

    # ------------------------------------------------------------------ test API

    def add_mailbox(self, address: str) -> None:
        with self._lock:
            self._boxes[address.lower()] = _Mailbox(
                address.lower(),
                {"inbox": ("Inbox", None), "drafts": ("Drafts", None), "sentitems": ("Sent", None)},
            )

    def fail_next(
        self, op: str, kind: str, *, count: int = 1, retry_after: float = 0.05, hang: float = 2
    ) -> None:
        assert kind in KINDS, kind
        with self._lock:
            self._faults.append(_Fault(op, kind, count, retry_after, hang))

    def fail_rate(
        self,
        rate: float,
        *,
        kinds: tuple[str, ...] = KINDS,
        seed: int = 1,
        retry_after: float = 0.02,
        hang: float = 1.5,
    ) -> None:
        with self._lock:
            self._rate = (rate, kinds, random.Random(seed), retry_after, hang)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._rate = None

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on (as after a revocation)."""
        with self._lock:
            self._tokens = {t: (a, 0.0) for t, (a, _) in self._tokens.items()}

    def deliver(self, mailbox: str, mime: bytes, item_class: str = "IPM.Note") -> str:
        with self._lock:
            box = self._boxes[mailbox.lower()]
            item = self._new_item(box, "inbox", {}, mime=mime, item_class=item_class)
            return item.id

    def items(self, mailbox: str, folder: str) -> list[Item]:
        """The items in a well-known folder or a child folder of the inbox, by name."""
        with self._lock:
            box = self._boxes[mailbox.lower()]
            ids = {fid for fid, (name, _) in box.folders.items() if fid == folder or name == folder}
            return [i for i in box.items.values() if i.folder in ids]

    # ------------------------------------------------------------------ serving

    def _serve(self, handler: _Handler, method: str) -> None:
        if self.latency:
            time.sleep(self.latency)
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/v1.0/"):
            with self._lock:
                self.http_requests += 1
        try:
            if url.path.endswith("/.well-known/openid-configuration"):
                status, body = self._discovery(url.path)
            elif url.path.endswith("/oauth2/v2.0/token"):
                status, body = self._token(url.path, raw)
            elif url.path.startswith("/upload/"):
                status, body = self._upload(handler, url.path, raw)
            elif url.path == "/v1.0/$batch":
                status, body = self._batch(self._app_of(handler), json.loads(raw or b"{}"))
            elif url.path.startswith("/v1.0/users/"):
                app = self._app_of(handler)
                fault, (status, body) = self._call(
                    app, method, url.path, query, json.loads(raw) if raw else {}
                )
                self._after(fault)
            else:
                raise GraphError(404, "ResourceNotFound", f"no route {url.path}")
        except _Drop:
            handler.close_connection = True
            return
        except GraphError as exc:
            status, body = exc.status, {"error": {"code": exc.code, "message": exc.message}}
            retry = getattr(exc, "retry_after", None)
            if retry is not None:
                self._answer(handler, status, body, {"Retry-After": f"{retry:g}"})
                return
        self._answer(handler, status, body)

    def _answer(
        self, handler: _Handler, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
        try:
            handler.send_response(status)
            ctype = "message/rfc822" if isinstance(body, bytes) else "application/json"
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True

    def _discovery(self, path: str) -> tuple[int, Any]:
        tenant = path.split("/")[1]
        if tenant != self.tenant:
            return 400, {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                "error_codes": [90002],
            }
        base = f"{self.origin}/{tenant}"
        return 200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
        }

    def _token(self, path: str, raw: bytes) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        self._count("token")
        fault = self._fault("token")
        if fault is not None and fault.kind in ("503", "429"):
            self._refuse(fault)
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            return 400, {
                "error": "unauthorized_client",
                "error_description": f"AADSTS700016: Application with identifier '{client_id}' "
                f"was not found in the directory '{self.tenant}'.",
                "error_codes": [700016],
            }
        if form.get("client_secret") != app.secret:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7000215],
            }
        expiry = time.time() + self.token_lifetime
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        claims = {
            "appid": client_id,
            "tid": self.tenant,
            "exp": int(expiry),
            "jti": uuid.uuid4().hex,
        }
        if app.roles:
            claims["roles"] = list(app.roles)
        token = f"{header}.{_b64(json.dumps(claims).encode())}.x"
        with self._lock:
            self._tokens[token] = (client_id, expiry)
            self.tokens_issued += 1
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }

    def _count(self, op: str) -> None:
        with self._lock:
            self.calls.append(op)

    def _fault(self, op: str, *, batched: bool = False) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.op == op and fault.count > 0:
                    fault.count -= 1
                    return fault
            if self._rate is not None and op in SEND_SIDE:
                rate, kinds, rng, retry_after, hang = self._rate
                if rng.random() < rate:
                    kind = rng.choice(kinds)
                    # At a rate, a batched request's lost connection is its batch's.
                    if not (batched and kind in CONNECTION):
                        return _Fault(op, kind, 1, retry_after, hang)
        return None

    def _refuse(self, fault: _Fault) -> None:
        error = GraphError(
            int(fault.kind),
            "TooManyRequests" if fault.kind == "429" else "ServiceUnavailable",
            "Application is over its MailboxConcurrency limit."
            if fault.kind == "429"
            else "The service is temporarily unavailable.",
        )
        error.retry_after = fault.retry_after  # type: ignore[attr-defined]
        raise error

    def _after(self, fault: _Fault | None) -> None:
        """What happens to the answer of an operation that was done."""
        if fault is None:
            return
        if fault.kind == "timeout_after":
            self._stopping.wait(fault.hang)
            raise _Drop
        if fault.kind == "drop_after":
            raise _Drop
        if fault.kind == "500_after":
            raise GraphError(500, "InternalServerError", "Something went wrong.")

    def _app_of(self, handler: _Handler) -> App:
        auth = handler.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[1] < time.time():
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        app = self.apps[found[0]]
        if not app.roles:
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token validation failure: no roles."
            )
        return app

    def _call(
        self,
        app: App,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, Any],
        *,
        batched: bool = False,
    ) -> tuple[_Fault | None, tuple[int, Any]]:
        """One Graph request, done; the fault that decides what becomes of its answer."""
        parts = [unquote(p) for p in path.split("/")[3:]]
        address, rest = parts[0].lower(), parts[1:]
        box = self._boxes.get(address)
        if box is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{address}' is invalid.")
        if app.mailboxes is not None and address not in app.mailboxes:
            raise GraphError(
                403,
                "ErrorAccessDenied",
                "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
                "AccessPolicy settings.",
            )
        op = self._op(method, rest)
        self._count(op)
        fault = self._fault(op, batched=batched)
        self._before(fault)
        with self._lock:
            result = self._do(app, box, method, rest, query, body, op)
        return fault, result

    def _before(self, fault: _Fault | None) -> None:
        """What happens to an operation refused or cut off before it was done."""
        if fault is not None:
            if fault.kind in ("429", "503"):
                self._refuse(fault)
            if fault.kind == "drop_before":
                raise _Drop

    def _batch(self, app: App, body: dict[str, Any]) -> tuple[int, Any]:
        """JSON batching: each request done in turn, its answer (or refusal) in the list.

        The batch call has its faults as any call; a request's fault stays its own (429/503
        with Retry-After, 500 after doing it), except the ones that lose the connection:
        `drop_before` drops it with the rest of the batch undone, `timeout_after` and
        `drop_after` lose the whole answer after all is done. Graph runs at most four
        requests of a mailbox at once, so a batch of n takes ceil(n / 4) times the latency
        of one call.
        """
        requests = body.get("requests", [])
        if not 1 <= len(requests) <= 20:
            raise GraphError(400, "BadRequest", "A batch holds between 1 and 20 requests.")
        self._count("batch")
        fault = self._fault("batch")
        self._before(fault)
        if self.latency:
            time.sleep(self.latency * (math.ceil(len(requests) / 4) - 1))
        responses: list[dict[str, Any]] = []
        lost: list[_Fault] = []
        for request in requests:
            url = urlsplit(str(request["url"]))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            headers: dict[str, str] = {}
            try:
                done, (status, result) = self._call(
                    app,
                    str(request["method"]),
                    f"/v1.0{url.path}",
                    query,
                    request.get("body") or {},
                    batched=True,
                )
                if done is not None and done.kind == "500_after":
                    raise GraphError(500, "InternalServerError", "Something went wrong.")
                if done is not None and done.kind in ("timeout_after", "drop_after"):
                    lost.append(done)
            except GraphError as exc:
                status, result = exc.status, {"error": {"code": exc.code, "message": exc.message}}
                retry = getattr(exc, "retry_after", None)
                if retry is not None:
                    headers["Retry-After"] = f"{retry:g}"
            responses.append(
                {"id": request["id"], "status": status, "headers": headers, "body": result}
            )
        self._after(lost[0] if lost else fault)
        return 200, {"responses": responses}

    @staticmethod
    def _op(method: str, rest: list[str]) -> str:
        if rest == ["messages"]:
            return "create" if method == "POST" else "find"
        if rest == ["sendMail"]:
            return "sendmail"
        if rest[0] == "messages" and len(rest) >= 3:
            return {"send": "send", "move": "move", "$value": "value"}.get(
                rest[2], "upload_session" if rest[-1] == "createUploadSession" else rest[2]
            )
        if rest[0] == "messages":
            return "patch" if method == "PATCH" else "get"
        if rest[-1] == "delta":
            return "delta"
        return "folders"

    def _need(self, app: App, role: str) -> None:
        if role not in app.roles and not (role == "Mail.Read" and "Mail.ReadWrite" in app.roles):
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )

    def _folder_id(self, box: _Mailbox, ref: str) -> str:
        ref = ref.lower() if ref.lower() in ("inbox", "drafts", "sentitems") else ref
        if ref not in box.folders:
            raise GraphError(404, "ErrorItemNotFound", "The specified folder could not be found.")
        return ref

    def _item(self, box: _Mailbox, item_id: str) -> Item:
        item = box.items.get(item_id)
        if item is None:
            raise GraphError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return item

    def _new_item(self, box: _Mailbox, folder: str, data: dict[str, Any], **kw: Any) -> Item:
        n = next(self._seq)
        item = Item(
            id=f"AAMkAD{n:08d}",
            folder=folder,
            data=data,
            received=(dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=n)).isoformat(),
            **kw,
        )
        box.items[item.id] = item
        if folder == "inbox":
            box.changes.append((n, item.id, True))
        return item

    def _recipients(self, data: dict[str, Any]) -> list[str]:
        """Whom a message goes to; one address in `refused` refuses it all."""
        recipients = [
            r["emailAddress"]["address"]
            for kind in ("toRecipients", "ccRecipients")
            for r in data.get(kind, [])
        ]
        refused = [r for r in recipients if r in self.refused]
        if refused:
            raise GraphError(
                400, "ErrorInvalidRecipients", f"At least one recipient is not valid: {refused[0]}"
            )
        return recipients

    def _copy_to_sent(self, box: _Mailbox, data: dict[str, Any]) -> None:
        with self._lock:
            self._new_item(box, "sentitems", data)

    def _remove(self, box: _Mailbox, item: Item) -> None:
        del box.items[item.id]
        if item.folder == "inbox":
            box.changes.append((next(self._seq), item.id, False))

    def _do(
        self,
        app: App,
        box: _Mailbox,
        method: str,
        rest: list[str],
        query: dict[str, str],
        body: dict[str, Any],
        op: str,
    ) -> tuple[int, Any]:
        if op == "create":
            self._need(app, "Mail.ReadWrite")
            item = self._new_item(box, "drafts", body, is_draft=True)
            return 201, {"id": item.id, "isDraft": True}
        if op == "find":
            self._need(app, "Mail.Read")
            match = re.search(r"ep/value eq '((?:[^']|'')*)'", query.get("$filter", ""))
            key = match.group(1).replace("''", "'") if match else None
            found = [i for i in box.items.values() if key is not None and i.key == key]
            return 200, {
                "value": [
                    {
                        "id": i.id,
                        "isDraft": i.is_draft,
                        "internetMessageId": i.data.get("internetMessageId"),
                    }
                    for i in found
                ]
            }
        if op == "send":
            self._need(app, "Mail.Send")
            item = self._item(box, rest[1])
            if not item.is_draft:
                raise GraphError(404, "ErrorItemNotFound", "The item was already sent.")
            recipients = self._recipients(item.data)
            del box.items[item.id]
            sent = self._new_item(box, "sentitems", item.data, uploaded=item.uploaded)
            self.sent_log.append(self._sent(box, sent, recipients))
            return 202, None
        if op == "sendmail":
            self._need(app, "Mail.Send")
            data = dict(body["message"])
            recipients = self._recipients(data)
            sent = Item(id="", folder="sentitems", data=data)
            self.sent_log.append(self._sent(box, sent, recipients))
            if body.get("saveToSentItems", True):
                timer = threading.Timer(self.sent_copy_delay, self._copy_to_sent, (box, data))
                timer.daemon = True
                timer.start()
            return 202, None
        if op == "upload_session":
            self._need(app, "Mail.ReadWrite")
            item = self._item(box, rest[1])
            session = uuid.uuid4().hex
            self._uploads[session] = (box.address, item.id, body["AttachmentItem"], bytearray())
            return 201, {
                "uploadUrl": f"{self.origin}/upload/{session}",
                "nextExpectedRanges": ["0-"],
            }
        if op in ("get", "value"):
            self._need(app, "Mail.Read")
            item = self._item(box, rest[1])
            if op == "value":
                return 200, item.mime or b""
            return 200, {
                "id": item.id,
                "singleValueExtendedProperties": [{"id": ITEM_CLASS_ID, "value": item.item_class}],
            }
        if op == "patch":
            self._need(app, "Mail.ReadWrite")
            item = self._item(box, rest[1])
            item.categories = list(body.get("categories", item.categories))
            item.is_read = bool(body.get("isRead", item.is_read))
            return 200, {"id": item.id}
        if op == "move":
            self._need(app, "Mail.ReadWrite")
            item = self._item(box, rest[1])
            target = self._folder_id(box, str(body["destinationId"]))
            self._remove(box, item)
            moved = self._new_item(
                box,
                target,
                item.data,
                mime=item.mime,
                item_class=item.item_class,
                categories=item.categories,
                is_read=item.is_read,
            )
            return 201, {"id": moved.id}
        if op == "delta":
            self._need(app, "Mail.Read")
            return 200, self._delta(box, query)
        return self._folders(app, box, method, rest, query, body)

    def _folders(
        self,
        app: App,
        box: _Mailbox,
        method: str,
        rest: list[str],
        query: dict[str, str],
        body: dict[str, Any],
    ) -> tuple[int, Any]:
        self._need(app, "Mail.Read")
        if rest[0] != "mailFolders":
            raise GraphError(400, "BadRequest", f"unsupported {'/'.join(rest)}")
        folder = self._folder_id(box, rest[1])
        if len(rest) == 2:
            inside = [i for i in box.items.values() if i.folder == folder]
            return 200, {
                "id": folder,
                "displayName": box.folders[folder][0],
                "totalItemCount": len(inside),
                "unreadItemCount": sum(not i.is_read for i in inside),
            }
        if rest[2] == "childFolders":
            children = {
                fid: name for fid, (name, parent) in box.folders.items() if parent == folder
            }
            if method == "POST":
                self._need(app, "Mail.ReadWrite")
                name = str(body["displayName"])
                if name in children.values():
                    raise GraphError(
                        409, "ErrorFolderExists", "A folder with the specified name already exists."
                    )
                fid = f"AAMkFolder{next(self._seq):06d}"
                box.folders[fid] = (name, folder)
                return 201, {"id": fid, "displayName": name}
            match = re.search(r"displayName eq '((?:[^']|'')*)'", query.get("$filter", ""))
            wanted = match.group(1).replace("''", "'") if match else None
            return 200, {
                "value": [
                    {"id": fid, "displayName": name}
                    for fid, name in children.items()
                    if wanted is None or name == wanted
                ]
            }
        if rest[2] == "messages":
            inside = sorted(
                (i for i in box.items.values() if i.folder == folder),
                key=lambda i: i.received,
                reverse="desc" in query.get("$orderby", ""),
            )[: int(query.get("$top", "10"))]
            return 200, {"value": [{"id": i.id} for i in inside]}
        raise GraphError(400, "BadRequest", f"unsupported {'/'.join(rest)}")

    def _delta(self, box: _Mailbox, query: dict[str, str]) -> dict[str, Any]:
        """Changes to the inbox after a delta token, a page at a time."""
        if "$skiptoken" in query:
            since, until, offset = (int(x) for x in query["$skiptoken"].split("."))
        else:
            since = int(query.get("$deltatoken", "0"))
            until = box.changes[-1][0] if box.changes else since
            offset = 0
        latest: dict[str, bool] = {}
        for seq, item_id, added in box.changes:
            if since < seq <= until:
                latest[item_id] = added
        entries: list[dict[str, Any]] = []
        for item_id, added in latest.items():
            item = box.items.get(item_id)
            if added and item is not None and item.folder == "inbox":
                entries.append({"id": item_id, "receivedDateTime": item.received})
            elif not added and since > 0:
                entries.append({"id": item_id, "@removed": {"reason": "deleted"}})
        page = entries[offset : offset + self.page_size]
        base = f"{self.url}/users/{box.address}/mailFolders/inbox/messages/delta"
        result: dict[str, Any] = {"value": page}
        if offset + self.page_size < len(entries):
            result["@odata.nextLink"] = (
                f"{base}?$skiptoken={since}.{until}.{offset + self.page_size}"
            )
        else:
            result["@odata.deltaLink"] = f"{base}?$deltatoken={until}"
        return result

    def _upload(self, handler: _Handler, path: str, raw: bytes) -> tuple[int, Any]:
        if handler.headers.get("Authorization"):
            raise GraphError(401, "InvalidAuthenticationToken", "The upload URL takes no token.")
        self._count("upload")
        with self._lock:
            session = self._uploads.get(path.rsplit("/", 1)[1])
            if session is None:
                raise GraphError(404, "ErrorItemNotFound", "No such upload session.")
            address, item_id, info, data = session
            match = re.match(r"bytes (\d+)-(\d+)/(\d+)", handler.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != len(data):
                raise GraphError(
                    416, "InvalidRange", "The range does not follow what was uploaded."
                )
            data.extend(raw)
            if len(data) < int(match.group(3)):
                return 200, {"nextExpectedRanges": [f"{len(data)}-"]}
            item = self._item(self._boxes[address], item_id)
            item.uploaded.append((str(info["name"]), str(info["contentType"]), bytes(data)))
            return 201, None

    def _sent(self, box: _Mailbox, item: Item, recipients: list[str]) -> Sent:
        data = item.data
        msg = EmailMessage()
        msg["Subject"] = str(data.get("subject", ""))
        sender = data.get("from", {}).get("emailAddress", {})
        msg["From"] = f"{sender.get('name', '')} <{sender.get('address', box.address)}>"
        msg["To"] = ", ".join(r["emailAddress"]["address"] for r in data.get("toRecipients", []))
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = str(data.get("internetMessageId") or f"<{item.id}@graph.test>")
        headers = {h["name"]: h["value"] for h in data.get("internetMessageHeaders", [])}
        props = {p["id"]: p["value"] for p in data.get("singleValueExtendedProperties", [])}
        # As Exchange writes them for recipients outside ([MS-OXCMAIL] 2.1.3.2.25, .28):
        # Reply-By only when the flag request is set too.
        if FLAG_REQUEST_ID in props:
            headers["X-Message-Flag"] = str(props[FLAG_REQUEST_ID])
            if REPLY_TIME_ID in props:
                due = dt.datetime.fromisoformat(str(props[REPLY_TIME_ID]))
                headers["Reply-By"] = formatdate(due.timestamp(), usegmt=True)
        for name, value in headers.items():
            msg[name] = value
        msg.set_content(str(data.get("body", {}).get("content", "")), subtype="html")
        files: list[tuple[str, str, bytes]] = [
            (a["name"], a["contentType"], base64.b64decode(a["contentBytes"]))
            for a in data.get("attachments", [])
        ] + list(item.uploaded)
        for name, ctype, content in files:
            maintype, _, subtype = ctype.partition("/")
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
        return Sent(
            key=item.key,
            recipients=tuple(recipients),
            headers=headers,
            flag=data.get("flag"),
            attachments=tuple((name, len(content)) for name, _, content in files),
            mime=msg.as_bytes(),
        )
