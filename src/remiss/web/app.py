"""The web application: the answer page for officials and the staff view at /admin."""

from __future__ import annotations

import contextlib
import logging
import secrets
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from remiss.core.rendering import environment
from remiss.core.settings import Settings
from remiss.storage.uploads import upload_limits
from remiss.web import admin, answer_page, workspace_round, workspace_send
from remiss.web.deps import Trigger, get_pages
from remiss.web.pages import Pages
from remiss.web.security import (
    BodyLimit,
    FailureThrottle,
    ProxyHeaders,
    SecurityHeaders,
    masked_path,
)
from remiss.web.staff import NO_ROLE_TEXT, READ_ONLY_TEXT
from remiss.web.trigger import Jobs
from remiss.web.workspace_archive import router as archive_router
from remiss.web.workspace_case import router as case_router
from remiss.web.workspace_joint import router as joint_router
from remiss.web.workspace_report import router as report_router

log = logging.getLogger("remiss.web")

__all__ = ["Jobs", "Trigger", "create_app"]


def create_app(
    settings: Settings, *, trigger: Trigger | None = None, jobs: Jobs | None = None
) -> FastAPI:
    """The web application. `trigger(answer_id)` hands a stored answer to Prefect, `jobs`
    the workspace's slow work (None: the sweep does it later)."""
    app = _Portal(title="Remiss", docs_url=None, redoc_url=None, openapi_url=None)
    env = environment(settings.templates_dir)
    env.globals["avsandare"] = settings.sender_name
    limits = upload_limits(settings)
    app.state.settings = settings
    app.state.pages = Pages(env)
    app.state.throttle = FailureThrottle()
    app.state.trigger = trigger
    app.state.jobs = jobs
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        BodyLimit,
        max_bytes=lambda: limits.max_total_bytes + 1024 * 1024,
        # The limit the official can act on: the files' total, not the form's slack.
        page=lambda path, _: too_large_page(
            app.state.pages, path, limits.max_total_bytes // (1024 * 1024)
        ),
    )
    # Outermost: everything inside sees the client's own address (the throttle counts it).
    app.add_middleware(ProxyHeaders, trusted=lambda: settings.trusted_proxies)
    app.mount(
        "/static", StaticFiles(directory=settings.templates_dir / "web" / "static"), name="static"
    )
    app.exception_handler(StarletteHTTPException)(http_error)
    app.exception_handler(RequestValidationError)(bad_request)
    app.exception_handler(Exception)(server_error)
    app.include_router(answer_page.router)
    app.include_router(admin.router)
    app.include_router(case_router)
    app.include_router(workspace_send.router)
    app.include_router(workspace_round.router)
    app.include_router(joint_router)
    app.include_router(report_router)
    app.include_router(archive_router)
    return app


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    pages = get_pages(request)
    path = request.url.path
    if 300 <= exc.status_code < 400 and exc.headers:
        return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
    # No error page is a dead end: each links on, to the page the request came from where
    # its address tells (a 404 or 429 link does not work, so only to the start).
    if exc.status_code == 404:
        return pages.not_found(back=_start_of(path), workspace=_in_workspace(path))
    if exc.status_code == 429:
        refused = pages.error(429, "För många försök", TOO_MANY_TEXT, back=_start_of(path))
        refused.headers.update(exc.headers or {})
        return refused
    if exc.status_code == 405:
        return pages.error(
            405,
            "Sidan kan inte användas på det här sättet",
            "Adressen går inte att använda så. Gå vidare med länken nedan.",
            back=_page_of(path),
            workspace=_in_workspace(path),
        )
    if exc.status_code == 403:
        if exc.detail in (NO_ROLE_TEXT, READ_ONLY_TEXT):
            return pages.error(
                403, "Ni har inte behörighet", str(exc.detail), back=_page_of(path), workspace=True
            )
        # A form refused (expired, or posted from elsewhere): back to the page it belongs
        # to, to load it afresh; reloading this address would post the form again.
        return pages.error(
            403,
            "Formuläret har gått ut",
            str(exc.detail),
            back=_page_of(path),
            workspace=_in_workspace(path),
        )
    if exc.status_code == 400:
        # Only the framework raises a 400 (a body it cannot parse), with an English detail.
        return pages.unreadable_form(back=_page_of(path), workspace=_in_workspace(path))
    return pages.error(
        exc.status_code,
        "Något gick fel",
        str(exc.detail),
        back=_page_of(path),
        workspace=_in_workspace(path),
    )


TOO_MANY_TEXT = (
    "Ni har gjort för många försök med länkar som inte fungerar. Vänta tio minuter och "
    "försök igen med länken i e-postmeddelandet."
)


def _in_workspace(path: str) -> bool:
    return path.strip("/").split("/")[0] == "admin"


def _start_of(path: str) -> tuple[str, str]:
    """The start of the part of the site the address belongs to."""
    return ("/admin", "Till översikten") if _in_workspace(path) else ("/", "Till startsidan")


def _page_of(path: str) -> tuple[str, str]:
    """The page a refused request came from, as far as its address tells."""
    parts = path.strip("/").split("/")
    if parts[0] == "r" and len(parts) > 1:
        return f"/r/{parts[1]}", "Tillbaka till remissen"
    if parts[0] == "admin" and len(parts) > 2 and parts[1] in ("omgang", "utkast"):
        return f"/admin/{parts[1]}/{parts[2]}", "Tillbaka till sidan"
    return _start_of(path)


def too_large_page(pages: Pages, path: str, limit_mb: int) -> bytes:
    """The 413 page, with the site's header and a way back to the form."""
    return bytes(
        pages.error(
            413,
            "Det ni skickade är för stort",
            f"Ett svar med filer får vara högst {limit_mb} MB. Gå tillbaka och försök igen "
            "med mindre eller färre filer.",
            back=_page_of(path),
            page_title="För stora filer",
            workspace=_in_workspace(path),
        ).body
    )


async def bad_request(request: Request, exc: RequestValidationError) -> Response:
    pages = get_pages(request)
    path = request.url.path
    if all(error["loc"][0] == "path" for error in exc.errors()):
        # An id in the path that no row can have ("abc", 0, 2**64): a page that is not there.
        return pages.not_found(back=_start_of(path), workspace=_in_workspace(path))
    return pages.unreadable_form(back=_page_of(path), workspace=_in_workspace(path))


class _Portal(FastAPI):
    """FastAPI that keeps an error it has answered out of the server's log.

    Starlette re-raises every exception after the 500 page is sent, for the server to log;
    uvicorn then logs the whole traceback, with the SQL statement and its parameters (an
    official's text, e-mail addresses) in the message of a database error. `server_error`
    logs what is needed to find the fault instead, so the exception stops here.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if getattr(exc, _REFERENCE, None) is None:
                raise


_REFERENCE = "remiss_reference"
_OWN_CODE = ("/remiss/", "/flows/")


def _where(exc: BaseException) -> str:
    """Where it happened: the innermost frames of the project's code and the innermost of
    all, as file:line function. No message, no source line, no local variable."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if any(part in f.filename for part in _OWN_CODE)][-3:]
    shown = [*own, *frames[-1:]] if frames and (not own or own[-1] is not frames[-1]) else own
    return " < ".join(f"{_short(f.filename)}:{f.lineno} {f.name}" for f in reversed(shown)) or "-"


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/src/", "/work/"):
        if marker in filename:
            return filename.rsplit(marker, 1)[1]
    return filename.rsplit("/", 1)[-1]


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page, with a reference the official can quote; the log gets the same
    reference, the exception's type, the route (its template, so no link token) and where
    in the code it happened, never the exception's message (a database error's holds the
    SQL statement and the values of the form)."""
    reference = secrets.token_hex(4).upper()
    route = request.scope.get("route")
    path = getattr(route, "path", None) or masked_path(request.url.path)
    log.error(
        "unexpected error %s, reference %s, %s %s at %s",
        type(exc).__name__,
        reference,
        request.method,
        path,
        _where(exc),
    )
    with contextlib.suppress(AttributeError, TypeError):
        setattr(exc, _REFERENCE, reference)
    return get_pages(request).error(
        500,
        "Något gick fel hos oss",
        "Inget av det ni skickade har sparats. Försök igen om en stund eller kontakta "
        f"handläggaren och ange referensen {reference}.",
        back=_page_of(request.url.path),
        workspace=_in_workspace(request.url.path),
    )
