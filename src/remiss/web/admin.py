"""Read-only staff view at /admin, behind a password or an SSO reverse proxy's header."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.cases.drafts import open_drafts
from remiss.core import dates
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.staff_sessions import end_session
from remiss.rounds.status import all_round_statuses
from remiss.storage.documents import find_document
from remiss.web.deps import Csrf, CsrfDep, PagesDep, SettingsDep
from remiss.web.pages import Pages, file_response
from remiss.web.security import ADMIN_COOKIE, RowId, sign, verify_password
from remiss.web.staff import PASSWORD_USER, StaffDep, password_session, signed_in

SESSION_SECONDS = 8 * 3600

router = APIRouter(prefix="/admin")


def login_page(
    settings: Settings, pages: Pages, csrf: Csrf, error: str | None = None, status: int = 200
) -> HTMLResponse:
    configured = bool(settings.admin_password_hash or settings.admin_sso_header)
    response = pages.page(
        "admin_login.html",
        {"csrf": csrf.token, "error": error, "configured": configured},
        status if configured else 403,
    )
    csrf.set_cookie(response)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(settings: SettingsDep, pages: PagesDep, csrf_guard: CsrfDep) -> HTMLResponse:
    return login_page(settings, pages, csrf_guard)


@router.post("/login")
def login(
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    csrf: Annotated[str, Form()] = "",
    losenord: Annotated[str, Form()] = "",
) -> Response:
    if not csrf_guard.valid(csrf):
        return login_page(settings, pages, csrf_guard, "Formuläret har gått ut. Försök igen.", 403)
    stored = settings.admin_password_hash
    if not stored or not verify_password(losenord, stored):
        time.sleep(1)  # slows down guessing
        return login_page(settings, pages, csrf_guard, "Fel lösenord.", 401)
    response = RedirectResponse("/admin", status_code=303)
    expires = int(time.time()) + SESSION_SECONDS
    response.set_cookie(
        ADMIN_COOKIE,
        sign(f"{PASSWORD_USER}|{expires}|{secrets.token_urlsafe(24)}", settings.secret_key()),
        httponly=True,
        samesite="strict",
        secure=settings.base_url.startswith("https://"),
        max_age=SESSION_SECONDS,
        path="/admin",
    )
    return response


@router.post("/logout")
def logout(
    request: Request, settings: SettingsDep, csrf_guard: CsrfDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    csrf_guard.check(csrf, "Formuläret har gått ut.")
    login = password_session(request, settings)
    if login is not None:
        # Ended for every portal process: a copy of the cookie no longer logs anyone in.
        with session_scope(settings.database_url) as session:
            end_session(
                session,
                session_id=login.session_id,
                now=dates.utcnow(),
                expires_at=dt.datetime.fromtimestamp(login.expires, dt.UTC),
            )
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/admin")
    return response


@router.get("", response_class=HTMLResponse)
def overview(
    staff: StaffDep, settings: SettingsDep, pages: PagesDep, csrf_guard: CsrfDep
) -> HTMLResponse:
    member = signed_in(staff)
    with session_scope(settings.database_url) as session:
        rounds = all_round_statuses(session, now=dates.utcnow(), tz=settings.timezone)
        response = pages.page(
            "admin_index.html",
            {
                "rounds": rounds,
                "user": member.user,
                "may_act": member.may_act,
                "utkast": open_drafts(session),
                "csrf": csrf_guard.token,
            },
        )
    csrf_guard.set_cookie(response)
    return response


@router.get("/filer/{document_id}")
def file(staff: StaffDep, settings: SettingsDep, document_id: RowId) -> Response:
    signed_in(staff)
    with session_scope(settings.database_url) as session:
        doc = find_document(session, document_id=document_id)
        if doc is None:
            raise StarletteHTTPException(status_code=404)
        return file_response(doc, settings.documents_dir)
