"""Read-only staff view at /admin, behind a password or an SSO reverse proxy's header."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.core import dates
from remiss.core.settings import Settings
from remiss.core.terms import POSITION_LABELS
from remiss.db.engine import session_scope
from remiss.db.models import Document, Round
from remiss.rounds.status import round_status, table_rows
from remiss.web.security import (
    ADMIN_COOKIE,
    CSRF_COOKIE,
    RowId,
    csrf_valid,
    new_csrf_token,
    sign,
    unsign,
    verify_password,
)

SESSION_SECONDS = 8 * 3600


def router(
    settings: Settings, env: Environment, download: Callable[[Document], Response]
) -> APIRouter:
    r = APIRouter(prefix="/admin")

    def page(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        return HTMLResponse(env.get_template(f"web/{name}").render(context), status_code=status)

    def staff(request: Request) -> str | None:
        """Who is logged in, or None."""
        if settings.admin_sso_header:
            user = request.headers.get(settings.admin_sso_header, "").strip()
            if user:
                return user
        value = unsign(request.cookies.get(ADMIN_COOKIE), settings.secret_key())
        if value:
            user, _, expires = value.rpartition("|")
            if expires.isdigit() and int(expires) > time.time():
                return user
        return None

    def require(request: Request) -> str:
        user = staff(request)
        if user is None:
            raise StarletteHTTPException(status_code=303, headers={"Location": "/admin/login"})
        return user

    def login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        configured = bool(settings.admin_password_hash or settings.admin_sso_header)
        response = page(
            "admin_login.html",
            {"csrf": csrf, "error": error, "configured": configured},
            status if configured else 403,
        )
        set_csrf_cookie(response, csrf)
        return response

    def set_csrf_cookie(response: Response, csrf: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=settings.base_url.startswith("https://"),
            path="/",
        )

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return login_page(request)

    @r.post("/login")
    def login(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        losenord: Annotated[str, Form()] = "",
    ) -> Response:
        if not csrf_valid(request, csrf):
            return login_page(request, "Formuläret har gått ut. Försök igen.", 403)
        stored = settings.admin_password_hash
        if not stored or not verify_password(losenord, stored):
            time.sleep(1)  # slows down guessing
            return login_page(request, "Fel lösenord.", 401)
        response = RedirectResponse("/admin", status_code=303)
        expires = int(time.time()) + SESSION_SECONDS
        response.set_cookie(
            ADMIN_COOKIE,
            sign(f"personal|{expires}", settings.secret_key()),
            httponly=True,
            samesite="strict",
            secure=settings.base_url.startswith("https://"),
            max_age=SESSION_SECONDS,
            path="/admin",
        )
        return response

    @r.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        if not csrf_valid(request, csrf):
            raise StarletteHTTPException(status_code=403, detail="Formuläret har gått ut.")
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    @r.get("", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        user = require(request)
        now = dates.utcnow()
        with session_scope(settings.database_url) as session:
            rounds = [
                round_status(rnd, now=now, tz=settings.timezone)
                for rnd in session.scalars(select(Round).order_by(Round.id.desc()))
            ]
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        response = page("admin_index.html", {"rounds": rounds, "user": user, "csrf": csrf})
        set_csrf_cookie(response, csrf)
        return response

    @r.get("/omgang/{round_id}", response_class=HTMLResponse)
    def round_page(request: Request, round_id: RowId) -> HTMLResponse:
        user = require(request)
        with session_scope(settings.database_url) as session:
            rnd = session.get(Round, round_id)
            if rnd is None:
                raise StarletteHTTPException(status_code=404)
            doc = round_status(rnd, now=dates.utcnow(), tz=settings.timezone)
            files = {
                d.sha256 + d.filename: d.id
                for dispatch in rnd.dispatches
                for a in dispatch.answers
                for d in a.documents
            }
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        response = page(
            "admin_round.html",
            {
                "round": doc,
                "rows": table_rows(doc, settings.timezone),
                "files": files,
                "user": user,
                "csrf": csrf,
                "stallningstaganden": POSITION_LABELS,
            },
        )
        set_csrf_cookie(response, csrf)
        return response

    @r.get("/filer/{document_id}")
    def file(request: Request, document_id: RowId) -> Response:
        require(request)
        with session_scope(settings.database_url) as session:
            doc = session.get(Document, document_id)
            if doc is None:
                raise StarletteHTTPException(status_code=404)
            return download(doc)

    return r
