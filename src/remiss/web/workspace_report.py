"""The workspace's report and decision pages: compile the remissammanställning and see its
versions, close the round, record the decision and send it to every remissinstans.

The web process renders no report and sends no e-mail: compiling is the job `sammanstall`,
sending the job `skicka` (remiss.cli.portal_app.JOBS). A report's files are served only
from the server's own listing of the round's compiles, never from a path in the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.answers.service import discard_unreferenced
from remiss.audit import log as audit
from remiss.core import dates
from remiss.core.errors import ConflictError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import MessageState, RoundState
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, Decision, Round
from remiss.report.compiling import compile_due
from remiss.rounds import decision as decisions
from remiss.rounds.service import close_round
from remiss.rounds.timeline import (
    REPORT_FORMATS,
    CaseTimeline,
    ReportVersion,
    case_timeline,
    decision_messages,
    report_versions,
)
from remiss.storage.documents import StoredFile
from remiss.storage.uploads import UploadError, check_file, content_disposition, upload_limits
from remiss.web.deps import Csrf, CsrfDep, JobsDep, PagesDep, SettingsDep
from remiss.web.pages import Pages
from remiss.web.security import CSP, RowId
from remiss.web.staff import Staff, StaffDep, acting, signed_in
from remiss.web.trigger import Jobs

log = logging.getLogger("remiss.web")

router = APIRouter(prefix="/admin")

# The workspace page shows the report's HTML in a frame from this site.
PAGE_CSP = CSP + "; frame-src 'self'"
# The report's own HTML carries its styles inline: it is served on its own, sandboxed (no
# scripts, no forms, an origin of its own even when opened directly), framed only by us.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox"
)
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FORMAT_NAMES = {"html": "HTML", "pdf": "PDF", "docx": "Word (DOCX)"}
# A second "Sammanställ nu" this soon after the first starts no second compile.
COMPILE_AGAIN_SECONDS = 120

REPORT_NOTICES = {
    "begard": "Sammanställningen görs nu. Ladda om sidan om en stund för att se den nya versionen.",
    "redan": "En sammanställning begärdes nyss och görs nu. Ladda om sidan om en stund.",
    "ko": "Sammanställningen är begärd men kunde inte lämnas vidare just nu. Försök igen om "
    "en stund, eller be driften köra remiss report.",
}
DECISION_NOTICES = {
    "avslutad": "Remissomgången är avslutad. Nu kan ni registrera beslutet när det är fattat.",
    "registrerat": "Beslutet är registrerat. Kontrollera det och skicka det sedan till "
    "remissinstanserna.",
    "skickat": "Beslutet skickas nu till remissinstanserna.",
    "redan-skickat": "Beslutet var redan skickat till alla remissinstanser; inget skickades igen.",
    "ej-vidare": "Beslutet ligger i kö och skickas vid nästa svep (inom tio minuter).",
}


def _round(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise StarletteHTTPException(status_code=404)
    return rnd


def _timeline(session: Session, settings: Settings, round_id: int) -> CaseTimeline:
    return case_timeline(
        session,
        round_id=round_id,
        tz=settings.timezone,
        now=dates.utcnow(),
        data_dir=settings.data_dir,
    )


def _page(pages: Pages, csrf: Csrf, name: str, context: dict[str, Any], status: int) -> Response:
    response = pages.page(name, context | {"csrf": csrf.token}, status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return csrf.keep(response)


# --- The remissammanställning -----------------------------------------------------------------


def when_it_compiles(rnd: Round, settings: Settings, now: dt.datetime) -> str:
    """When the round's report compiles by itself, in words."""
    if rnd.state != RoundState.OPEN:
        return "Omgången är avslutad och sammanställs inte längre av sig själv."
    tz = settings.timezone
    if compile_due(rnd, now=now, tz=tz, grace_days=settings.compile_grace_days):
        return "Sammanställs av sig själv inom några minuter."
    latest = max((d.deadline for d in rnd.dispatches), default=rnd.svar_senast)
    grace_end = dates.add_working_days(latest, settings.compile_grace_days)
    if rnd.auto_compiled_at is not None:
        return (
            "Sammanställdes av sig själv "
            f"{dates.swedish_datetime(rnd.auto_compiled_at, tz)}. Görs igen av sig själv när "
            "ett nytt svar kommer in."
        )
    if dates.local_today(now, tz) > grace_end:
        return "Sammanställs av sig själv inom några minuter."
    return (
        "Sammanställs av sig själv när alla har svarat, eller den "
        f"{dates.swedish_date(grace_end)} ({settings.compile_grace_days} arbetsdagar efter "
        f"den sista svarsdagen, {dates.swedish_date(latest)})."
    )


def _version_rows(versions: list[ReportVersion], tz: str) -> list[dict[str, Any]]:
    return [
        {
            "stamp": v.stamp,
            "when": dates.swedish_datetime(v.compiled_at, tz),
            "status": v.status or "–",
            "sha256": [
                (FORMAT_NAMES[fmt], v.sha256[fmt]) for fmt in REPORT_FORMATS if fmt in v.sha256
            ],
            "formats": [(fmt, FORMAT_NAMES[fmt]) for fmt in REPORT_FORMATS if fmt in v.files],
        }
        for v in versions
    ]


@router.get("/omgang/{round_id}/sammanstallning", response_class=HTMLResponse)
def report_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    klart: str = "",
) -> Response:
    member = signed_in(staff)
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        rnd = _round(session, round_id)
        versions = report_versions(settings.data_dir, round_id=round_id)
        context = {
            "omgang": rnd,
            "arende": rnd.case,
            "automatiskt": when_it_compiles(rnd, settings, now),
            "versioner": _version_rows(versions, settings.timezone),
            "senaste": versions[0].stamp if versions and "html" in versions[0].files else None,
            "gang": _timeline(session, settings, round_id),
            "notice": REPORT_NOTICES.get(klart),
            "user": member.user,
            "may_act": member.may_act,
        }
        return _page(pages, csrf_guard, "ws_sammanstallning.html", context, 200)


def _recently_requested(session: Session, round_id: int, now: dt.datetime) -> bool:
    since = now - dt.timedelta(seconds=COMPILE_AGAIN_SECONDS)
    return (
        session.scalars(
            select(AuditEntry.id).where(
                AuditEntry.round_id == round_id,
                AuditEntry.action == "report_compiled",
                AuditEntry.at >= since,
            )
        ).first()
        is not None
    )


def _hand_on(jobs: Jobs | None, name: str, round_id: int) -> bool:
    """Give the job to Prefect; False when it could not be handed on now."""
    if jobs is None:
        return False
    try:
        jobs.submit(name, round_id=round_id)
    except Exception as exc:  # the action is stored; the sweep or a second click does it
        log.warning("job %s for round %s not handed on: %s", name, round_id, type(exc).__name__)
        return False
    return True


@router.post("/omgang/{round_id}/sammanstallning")
def compile_now(
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
        _round(session, round_id)
        again = _recently_requested(session, round_id, now)
        if not again:
            audit.record(
                session, user=member.user, action="report_compiled", now=now, round_id=round_id
            )
    if again:
        what = "redan"
    elif _hand_on(jobs, "sammanstall", round_id):
        what = "begard"
    else:
        what = "ko"
    return RedirectResponse(
        f"/admin/omgang/{round_id}/sammanstallning?klart={what}#meddelande", status_code=303
    )


def _version_file(settings: Settings, round_id: int, stamp: str, fmt: str) -> tuple[bytes, str]:
    """A file of one listed version: (content, file name), or 404."""
    for version in report_versions(settings.data_dir, round_id=round_id):
        if version.stamp == stamp and fmt in version.files:
            path = version.files[fmt]
            try:
                return path.read_bytes(), path.name
            except OSError as exc:
                raise StarletteHTTPException(status_code=404) from exc
    raise StarletteHTTPException(status_code=404)


@router.get("/omgang/{round_id}/sammanstallning/{stamp}/visa")
def report_html(staff: StaffDep, settings: SettingsDep, round_id: RowId, stamp: str) -> Response:
    """The report's HTML as it was written, sandboxed, for the preview frame."""
    signed_in(staff)
    data, _name = _version_file(settings, round_id, stamp, "html")
    return Response(
        data,
        media_type=MEDIA_TYPES["html"],
        headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


@router.get("/omgang/{round_id}/sammanstallning/{stamp}/{fmt}")
def report_file(
    staff: StaffDep, settings: SettingsDep, round_id: RowId, stamp: str, fmt: str
) -> Response:
    """A version's HTML, PDF or DOCX as a download."""
    signed_in(staff)
    if fmt not in MEDIA_TYPES:
        raise StarletteHTTPException(status_code=404)
    data, name = _version_file(settings, round_id, stamp, fmt)
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Security-Policy": REPORT_CSP,
        },
    )


# --- Closing the round and the decision -----------------------------------------------------


def _decision_rows(session: Session, rnd: Round, tz: str) -> list[dict[str, Any]]:
    rows = []
    for d in decisions.decisions_of(session, round_id=rnd.id):
        messages = decision_messages(session, decision=d)
        rows.append(
            {
                "id": d.id,
                "organ": decisions.organ_label(d.organ),
                "datum": d.beslutsdatum,
                "paragraf": d.paragraf,
                "text": d.text,
                "registrerat": dates.swedish_datetime(d.recorded_at, tz),
                "av": d.recorded_by,
                "dokument": d.documents,
                "koade": len(messages),
                "skickade": sum(1 for m in messages if m.state == MessageState.SENT),
                "misslyckade": sum(1 for m in messages if m.state == MessageState.FAILED),
                "mottagare": len(rnd.dispatches),
            }
        )
    return rows


def _decision_page(
    settings: Settings,
    pages: Pages,
    csrf: Csrf,
    member: Staff,
    round_id: int,
    *,
    notice: str | None = None,
    confirm_close: bool = False,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with session_scope(settings.database_url) as session:
        rnd = _round(session, round_id)
        context = {
            "omgang": rnd,
            "arende": rnd.case,
            "oppen": rnd.state == RoundState.OPEN,
            "bekrafta": confirm_close and rnd.state == RoundState.OPEN,
            "beslut": _decision_rows(session, rnd, settings.timezone),
            "organ": decisions.ORGANS,
            "gang": _timeline(session, settings, round_id),
            "notice": notice,
            "fel": dict.fromkeys(FIELD_IDS, "") | (errors or {}),
            "har_fel": bool(errors),
            "fel_text": error,
            "varden": {"organ": "", "beslutsdatum": "", "paragraf": "", "text": ""}
            | (values or {}),
            "idag": dates.local_today(dates.utcnow(), settings.timezone).isoformat(),
            "user": member.user,
            "may_act": member.may_act,
        }
        return _page(pages, csrf, "ws_beslut.html", context, status)


@router.get("/omgang/{round_id}/beslut", response_class=HTMLResponse)
def decision_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    klart: str = "",
    avsluta: str = "",
) -> Response:
    member = signed_in(staff)
    return _decision_page(
        settings,
        pages,
        csrf_guard,
        member,
        round_id,
        notice=DECISION_NOTICES.get(klart),
        confirm_close=avsluta == "1" and member.may_act,
    )


@router.post("/omgang/{round_id}/avsluta")
def close(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    csrf: Annotated[str, Form()] = "",
    bekraftat: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    if bekraftat != "ja":
        # The first button only asks; the round closes from the confirmation.
        return RedirectResponse(
            f"/admin/omgang/{round_id}/beslut?avsluta=1#avsluta", status_code=303
        )
    now = dates.utcnow()
    try:
        with session_scope(settings.database_url) as session:
            _round(session, round_id)
            close_round(session, round_id=round_id, now=now)
            audit.record(
                session, user=member.user, action="round_closed", now=now, round_id=round_id
            )
    except ConflictError as exc:
        return _decision_page(
            settings, pages, csrf_guard, member, round_id, error=str(exc), status=409
        )
    return RedirectResponse(
        f"/admin/omgang/{round_id}/beslut?klart=avslutad#meddelande", status_code=303
    )


FIELD_IDS = {
    "organ": "organ-KSAU",
    "beslutsdatum": "beslutsdatum",
    "paragraf": "paragraf",
    "text": "beslutstext",
    "protokollsutdrag": "protokollsutdrag",
}


@router.post("/omgang/{round_id}/beslut")
def record(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    csrf: Annotated[str, Form()] = "",
    organ: Annotated[str, Form()] = "",
    beslutsdatum: Annotated[str, Form()] = "",
    paragraf: Annotated[str, Form()] = "",
    beslutstext: Annotated[str, Form()] = "",
    protokollsutdrag: Annotated[UploadFile | None, File()] = None,
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    values = {
        "organ": organ,
        "beslutsdatum": beslutsdatum,
        "paragraf": paragraf,
        "text": beslutstext,
    }
    form = decisions.DecisionForm(
        organ=organ, beslutsdatum=beslutsdatum, paragraf=paragraf, text=beslutstext
    )
    if protokollsutdrag is not None and (protokollsutdrag.filename or protokollsutdrag.size):
        data = protokollsutdrag.file.read()
        try:
            form.protokollsutdrag = check_file(
                protokollsutdrag.filename or "", data, upload_limits(settings)
            )
        except UploadError as exc:
            form.upload_error = exc.message
    written: list[StoredFile] = []
    try:
        with session_scope(settings.database_url) as session:
            _round(session, round_id)
            decisions.record_decision(
                session,
                round_id=round_id,
                form=form,
                user=member.user,
                now=dates.utcnow(),
                tz=settings.timezone,
                store=settings.documents_dir,
                written=written,
            )
    except decisions.DecisionFormError as exc:
        _discard(settings, written)
        return _decision_page(
            settings,
            pages,
            csrf_guard,
            member,
            round_id,
            errors=exc.errors,
            values=values,
            status=422,
        )
    except ConflictError as exc:
        _discard(settings, written)
        return _decision_page(
            settings, pages, csrf_guard, member, round_id, error=str(exc), values=values, status=409
        )
    except BaseException:
        _discard(settings, written)
        raise
    return RedirectResponse(
        f"/admin/omgang/{round_id}/beslut?klart=registrerat#meddelande", status_code=303
    )


def _discard(settings: Settings, written: list[StoredFile]) -> None:
    """Files stored for a decision that was not: removed unless a document uses them."""
    if not written:
        return
    try:
        with session_scope(settings.database_url) as session:
            discard_unreferenced(session, files=written)
    except (OSError, OperationalError) as exc:
        log.warning("could not remove %d unstored files: %s", len(written), exc)


@router.post("/omgang/{round_id}/beslut/{decision_id}/skicka")
def send(
    staff: StaffDep,
    settings: SettingsDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    decision_id: RowId,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    try:
        with session_scope(settings.database_url) as session:
            _round(session, round_id)
            queued = decisions.send_decision(
                session,
                round_id=round_id,
                decision_id=decision_id,
                user=member.user,
                now=dates.utcnow(),
            )
            unsent = any(
                m.state != MessageState.SENT
                for m in decision_messages(session, decision=session.get_one(Decision, decision_id))
            )
    except NotFoundError as exc:
        raise StarletteHTTPException(status_code=404) from exc
    # Handed on after the commit; the same job also picks up what a lost one left.
    handed = _hand_on(jobs, "skicka", round_id) if unsent else True
    if queued:
        what = "skickat" if handed else "ej-vidare"
    else:
        what = "redan-skickat" if not unsent else ("skickat" if handed else "ej-vidare")
    return RedirectResponse(
        f"/admin/omgang/{round_id}/beslut?klart={what}#meddelande", status_code=303
    )
