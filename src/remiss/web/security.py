"""Headers, CSRF, request size limits, throttling of failed link lookups, and staff login."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import math
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Annotated

from fastapi import Path
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("remiss.web")

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Over https the CSRF cookie has the __Host- prefix: the browser keeps it only if it is
# Secure, for the whole site, and set by this host, so a neighbouring (sub)domain or a
# plain-http page cannot plant one.
CSRF_COOKIE = "remiss_csrf"
CSRF_COOKIE_SECURE = "__Host-remiss_csrf"
CSRF_FIELD = "csrf"
ADMIN_COOKIE = "remiss_admin"
_TOKEN_IN_PATH = re.compile(r"^/r/[^/]+")

# An id or version in a path, within an INTEGER column's range: PostgreSQL refuses to compare
# a larger one with the column (integer out of range), and SQLite one beyond 64 bits
# (OverflowError). FastAPI refuses it before any query, and the app answers 404.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def masked_path(path: str) -> str:
    """The path with the link's token hidden: access logs must not hold working links."""
    return _TOKEN_IN_PATH.sub("/r/***", path)


_HEADER_PAIRS = [
    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()
]


class SecurityHeaders:
    """The security headers on every response (those the response does not set itself),
    and one log line per request with the link's token masked.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which runs every request through
    a task and a stream of its own: it cost the static CSS file two thirds of its speed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _HEADER_PAIRS if k not in present]
                message = {**message, "headers": headers}
                log.info(
                    "%s %s %s %.0f ms",
                    scope.get("method"),
                    masked_path(scope.get("path", "")),
                    message["status"],
                    (time.perf_counter() - started) * 1000,
                )
            await send(message)

        await self.app(scope, receive, with_headers)


TRUSTED_PROXY = "remiss.trusted_proxy"


class ProxyHeaders:
    """The client's address and scheme from a trusted reverse proxy's X-Forwarded-For and
    X-Forwarded-Proto, and a mark that the request came through one.

    Done here rather than by uvicorn's --proxy-headers, which rewrites the client address
    before the application sees it: the SSO headers must be believed only from the proxy
    itself (`trusted_proxies`), and only here is the proxy's own address still known."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted: Callable[[], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]],
    ) -> None:
        self.app = app
        self.trusted = trusted

    def _from_trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        try:
            address = ipaddress.ip_address(client[0]) if client else None
        except ValueError:  # not an IP address (e.g. a test client's name)
            return False
        return address is not None and any(address in net for net in self.trusted())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self._from_trusted(scope):
            # In place, as uvicorn's own proxy middleware does: the error handler outside
            # this middleware reads the same scope (the route the router put in it).
            # The server makes "state" afresh for each request.
            scope.setdefault("state", {})[TRUSTED_PROXY] = True
            headers = dict(scope.get("headers") or [])
            forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
            # The proxy replaces or appends: the address it added is the last one.
            last = forwarded.split(",")[-1].strip()
            if last:
                port = scope["client"][1] if scope.get("client") else 0
                scope["client"] = (last, port)
            proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)


def via_trusted_proxy(request: Request) -> bool:
    """Whether the request reached the portal from one of `trusted_proxies`."""
    return bool(request.scope.get("state", {}).get(TRUSTED_PROXY))


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies above a limit, whether or not Content-Length is honest."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: Callable[[], int],
        page: Callable[[str, int], bytes] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # The 413 page for (path, limit in MB): the site's own page with a way back.
        self.page = page or _bare_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, self.page(scope.get("path", "/"), limit // (1024 * 1024)))
            return
        seen = 0
        too_large = False
        started = False

        async def counted() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            # Once the body is over the limit, whatever the app answers (a form parser that
            # swallowed BodyTooLarge answers 400) gives way to the 413 below.
            nonlocal started
            if too_large:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # or swallowed by the app: answered below
            await self.app(scope, counted, guarded)
        if too_large and not started:
            await _too_large(send, self.page(scope.get("path", "/"), limit // (1024 * 1024)))


def _bare_page(path: str, mb: int) -> bytes:
    """The 413 page where no template is at hand (the middleware used on its own)."""
    return (
        "<!DOCTYPE html><html lang='sv'><head><meta charset='utf-8'>"
        "<title>För stora filer</title></head><body><main><h1>Det ni skickade är för stort</h1>"
        f"<p>Ett svar med filer får vara högst {mb} MB. Gå tillbaka och försök igen med "
        "mindre eller färre filer.</p></main></body></html>"
    ).encode()


async def _too_large(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *[(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def csrf_cookie_name(secure: bool) -> str:
    return CSRF_COOKIE_SECURE if secure else CSRF_COOKIE


def new_csrf_nonce() -> str:
    return secrets.token_urlsafe(32)


def csrf_form_token(nonce: str, key: bytes) -> str:
    """The form's token for the cookie's nonce: only the server, which holds the key, can
    make it, so a planted cookie is of no use to a forger who cannot read the page."""
    return hmac.new(key, f"csrf|{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(nonce: str | None, submitted: object, key: bytes) -> bool:
    return (
        isinstance(submitted, str)
        and bool(nonce)
        and hmac.compare_digest(submitted.encode(), csrf_form_token(nonce or "", key).encode())
    )


def same_origin(request: Request, allowed: str) -> bool:
    """Whether a POST comes from this site's own pages, as the browser tells it.

    A browser sends Sec-Fetch-Site with every request (Chromium, Firefox and Safari do) and
    Origin with every POST; a forged cross-site form carries the other site's origin in
    both. Clients that send neither (curl, old browsers) still need the CSRF token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null" and site == "same-origin":
        # Chromium sends "Origin: null" with a form posted from a page served with
        # Referrer-Policy: no-referrer (ours); Sec-Fetch-Site, which no page can set, vouches.
        return True
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin in (allowed, own)


class FailureThrottle:
    """Stops a client after repeated failed link lookups (per process, in memory).

    A blocked client may still look up a link now and then (`delay` seconds apart, a few at
    once), so an official behind the same address reaches their own link; any other request
    from it is answered 429 at once, without a lookup and without holding a thread."""

    def __init__(
        self, *, limit: int = 10, window: float = 600.0, delay: float = 1.0, burst: int = 3
    ) -> None:
        self.limit = limit
        self.window = window
        self.delay = delay
        self.burst = burst
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._allowance: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def retry_after(self) -> str:
        """The Retry-After header of a 429, in whole seconds."""
        return str(max(1, math.ceil(self.delay)))

    def _recent(self, client: str, now: float) -> deque[float]:
        q = self._failures[client]
        while q and now - q[0] > self.window:
            q.popleft()
        if not q:
            del self._failures[client]
            self._allowance.pop(client, None)
        return q

    def blocked(self, client: str, now: float | None = None) -> bool:
        if client not in self._failures:
            return False
        with self._lock:
            at = time.monotonic() if now is None else now
            return len(self._recent(client, at)) >= self.limit

    def admit(self, client: str, now: float | None = None) -> bool:
        """Whether the client may look up a link now: always unless blocked; then one
        lookup per `delay` seconds, up to `burst` saved up."""
        if not self.blocked(client, now):
            return True
        if self.delay <= 0:
            return True
        at = time.monotonic() if now is None else now
        with self._lock:
            saved, since = self._allowance.get(client, (float(self.burst), at))
            saved = min(float(self.burst), saved + (at - since) / self.delay)
            if saved < 1:
                self._allowance[client] = (saved, at)
                return False
            self._allowance[client] = (saved - 1, at)
            return True

    def fail(self, client: str, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._failures[client].append(at)


# Staff passwords: scrypt from the standard library, stored as scrypt$n$r$p$salt$hash.
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, maxmem=64 * 1024 * 1024, dklen=32, **_SCRYPT
    )
    b64 = base64.urlsafe_b64encode
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + f"{b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def sign(value: str, key: bytes) -> str:
    mac = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(signed: str | None, key: bytes) -> str | None:
    if not signed or "." not in signed:
        return None
    value, mac = signed.rsplit(".", 1)
    expected = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None
