"""The workspace's registration and e-archive: the register extract of a round or a period
as CSV or JSON, and a closed round's E-ARK package (issue 21).

The extract is built in the request (a few queries, no files read). The package reads every
stored file and renders the remissammanställning as PDF/A, so it is the job `arkivera`
(remiss.cli.portal_app.JOBS); the page offers the newest package built, streamed from disk.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.archive import register, sip
from remiss.audit import log as audit
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.settings import Settings
from remiss.core.states import RoundState
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.storage.uploads import content_disposition
from remiss.web.deps import CsrfDep, JobsDep, PagesDep, SettingsDep
from remiss.web.security import RowId
from remiss.web.staff import StaffDep, acting, signed_in

log = logging.getLogger("remiss.web")

router = APIRouter(prefix="/admin")

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
NOTICES = {
    "begard": "Arkivpaketet skapas nu. Ladda om sidan om en stund för att ladda ned det.",
    "ko": "Arkivpaketet är begärt men kunde inte lämnas vidare just nu. Försök igen om en "
    "stund, eller be driften köra remiss archive.",
}


def _round(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise StarletteHTTPException(status_code=404)
    return rnd


def _download(data: bytes, fmt: str, name: str) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition(name)},
    )


def _package_row(settings: Settings, round_id: int) -> dict[str, Any] | None:
    path = sip.latest_package(settings, round_id)
    if path is None:
        return None
    stat = path.stat()
    built = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
    return {
        "name": path.name,
        "when": dates.swedish_datetime(built, settings.timezone),
        "size_mb": f"{stat.st_size / 1_000_000:.1f}".replace(".", ","),
    }


@router.get("/omgang/{round_id}/diarium", response_class=HTMLResponse)
def archive_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    klart: str = "",
) -> Response:
    member = signed_in(staff)
    with session_scope(settings.database_url) as session:
        rnd = _round(session, round_id)
        context = {
            "omgang": rnd,
            "arende": rnd.case,
            "avslutad": rnd.state == RoundState.CLOSED,
            "paket": _package_row(settings, round_id),
            "notice": NOTICES.get(klart),
            "user": member.user,
            "may_act": member.may_act,
            "csrf": csrf_guard.token,
        }
        response = pages.page("ws_diarium.html", context)
    return csrf_guard.keep(response)


@router.get("/omgang/{round_id}/diarieutdrag.{fmt}")
def round_extract(staff: StaffDep, settings: SettingsDep, round_id: RowId, fmt: str) -> Response:
    signed_in(staff)
    if fmt not in register.FORMATS:
        raise StarletteHTTPException(status_code=404)
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        _round(session, round_id)
        data, _count = register.build_extract(
            session, settings, now=now, fmt=fmt, round_id=round_id
        )
    name = register.file_name(fmt, now=now, tz=settings.timezone, round_id=round_id)
    return _download(data, fmt, name)


@router.get("/diarieutdrag", response_class=HTMLResponse)
def period_extract(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    fran: str | None = None,
    till: str | None = None,
    format: str = "csv",
) -> Response:
    """The form for a period; with its values, the extract as a download."""
    member = signed_in(staff)
    values = {"fran": fran or "", "till": till or "", "format": format}
    context: dict[str, Any] = {
        "user": member.user,
        "may_act": member.may_act,
        "csrf": csrf_guard.token,
        "values": values,
        "errors": {},
    }
    if fran is None and till is None:
        return csrf_guard.keep(pages.page("ws_diarieutdrag.html", context))
    errors: dict[str, str] = {}
    days: dict[str, dt.date | None] = {"fran": None, "till": None}
    for field in ("fran", "till"):
        text = (values[field] or "").strip()
        if text:
            try:
                days[field] = dates.parse_date(text)
            except ValueError:
                errors[field] = "Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-12-01."
    if not errors and days["fran"] is None and days["till"] is None:
        errors["fran"] = "Ange periodens första dag, sista dag eller båda."
    if not errors and days["fran"] and days["till"] and days["fran"] > days["till"]:
        errors["till"] = "Den sista dagen är före den första."
    if format not in register.FORMATS:
        errors["format"] = "Välj CSV eller JSON."
    if errors:
        return csrf_guard.keep(
            pages.page("ws_diarieutdrag.html", context | {"errors": errors}, 400)
        )
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        try:
            data, _count = register.build_extract(
                session, settings, now=now, fmt=format, from_day=days["fran"], to_day=days["till"]
            )
        except InputError as exc:  # already checked above; kept as a 400 if it ever differs
            errors["fran"] = exc.message
            page = pages.page("ws_diarieutdrag.html", context | {"errors": errors}, 400)
            return csrf_guard.keep(page)
    return _download(data, format, register.file_name(format, now=now, tz=settings.timezone))


@router.post("/omgang/{round_id}/arkiv")
def request_package(
    staff: StaffDep,
    settings: SettingsDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        rnd = _round(session, round_id)
        if rnd.state != RoundState.CLOSED:
            raise StarletteHTTPException(
                status_code=409,
                detail="Omgången är inte avslutad. Avsluta den innan den lämnas till e-arkivet.",
            )
        audit.record(
            session, user=member.user, action="archive_requested", now=now, round_id=round_id
        )
    handed = False
    if jobs is not None:
        try:
            jobs.submit("arkivera", round_id=round_id)
            handed = True
        except Exception as exc:  # the request is logged; a second click hands it on
            log.warning("job arkivera for round %s not handed on: %s", round_id, type(exc).__name__)
    what = "begard" if handed else "ko"
    return RedirectResponse(
        f"/admin/omgang/{round_id}/diarium?klart={what}#meddelande", status_code=303
    )


@router.get("/omgang/{round_id}/arkiv/senaste")
def download_package(staff: StaffDep, settings: SettingsDep, round_id: RowId) -> Response:
    """The newest package, streamed from disk (it may be large)."""
    signed_in(staff)
    path = sip.latest_package(settings, round_id)
    if path is None:
        raise StarletteHTTPException(status_code=404)
    return FileResponse(
        path,
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(path.name)},
    )
