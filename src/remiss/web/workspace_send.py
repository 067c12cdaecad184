"""The workspace's last steps for a new case: the deadline, the preview, and sending it.

Sending is the start-round flow of the CLI, handed to Prefect as the job `starta`. The
click moves the draft from draft to starting by compare-and-set, in one transaction: a
double click or a reload finds it taken and hands on nothing more, and the job stores the
round once (rounds/start.py) and sends each remissmissiv once (outbox/sending.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.cases.casefile import RoundPlan
from remiss.cases.drafts import get_draft, save_draft
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.keys import subject_tag
from remiss.core.settings import Settings
from remiss.core.states import DraftState
from remiss.db.engine import session_scope
from remiss.db.models import CaseDraft
from remiss.mail import OutgoingEmail
from remiss.outbox.compose import answer_link, missiv_preview
from remiss.register.instances import Register, load_register
from remiss.register.meetings import check_meetings
from remiss.rounds import start as rounds_start
from remiss.web.deps import CsrfDep, JobsDep, PagesDep, SettingsDep
from remiss.web.pages import Pages
from remiss.web.security import CSP, RowId
from remiss.web.staff import Staff, StaffDep, acting, signed_in

router = APIRouter(prefix="/admin/utkast")

# A draft left in starting this long without its round: the job was lost (the process
# handing it on died first). Pressing "Skicka" again hands it on again; the job is safe to
# run twice.
LOST_JOB_AFTER = dt.timedelta(minutes=2)

# The preview page frames the HTML part, served by a route of its own; nothing else may.
PREVIEW_PAGE_CSP = CSP + "; frame-src 'self'"
# The HTML part as the recipient's mail program shows it: its inline styles, no scripts,
# no requests anywhere, no forms, in a sandbox (an origin of its own), framed only here.
MAIL_HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox"
)
LINK_PLACEHOLDER = "PERSONLIG-LÄNK"
TAG_PLACEHOLDER = "[Remiss-ID …]"

# Where each part of a case is entered, for an error that stops it from being sent.
FIELD_PAGES = {"svar_senast": "svarstid", "remissinstanser": "mottagare"}
FIELD_LABELS = {
    "diarienummer": "Diarienummer",
    "rubrik": "Rubrik",
    "arendetyp": "Ärendetyp",
    "motionarer": "Motionärer",
    "vackt": "Väckt",
    "att_satser": "Att-satser",
    "handlaggare": "Handläggare",
    "missiv": "Meddelande till mottagarna",
    "paminnelser": "Påminnelser",
    "remissinstanser": "Mottagare",
    "svar_senast": "Svar senast",
}


def _base_field(field: str | None) -> str:
    return (field or "").split("[", 1)[0].split(".", 1)[0]


@dataclass(frozen=True)
class Problem:
    """Why a draft cannot be sent yet, and the page where it is put right."""

    text: str
    href: str


def _problem(draft_id: int, exc: InputError | ConflictError) -> Problem:
    if isinstance(exc, ConflictError):
        return Problem(str(exc), f"/admin/utkast/{draft_id}")
    base = _base_field(exc.field)
    page = FIELD_PAGES.get(base, "")
    href = f"/admin/utkast/{draft_id}" + (f"/{page}" if page else "")
    label = FIELD_LABELS.get(base, "Ärendet")
    message = "uppgiften saknas" if exc.message == "fältet saknas eller är tomt" else exc.message
    return Problem(f"{label}: {message}.".replace("..", "."), href)


def _draft_or_404(session: Session, draft_id: int) -> CaseDraft:
    try:
        return get_draft(session, draft_id=draft_id)
    except NotFoundError:
        raise StarletteHTTPException(status_code=404) from None


def _sent_on(draft: CaseDraft) -> RedirectResponse | None:
    """A draft sent already is followed on its own page, not edited."""
    if draft.state == DraftState.DRAFT:
        return None
    return RedirectResponse(f"/admin/utkast/{draft.id}/skickas", status_code=303)


def _heading(draft: CaseDraft) -> dict[str, str]:
    data = draft.data or {}
    return {
        "diarienummer": str(data.get("diarienummer") or ""),
        "rubrik": str(data.get("rubrik") or ""),
    }


# --- Svarstid -------------------------------------------------------------------------------


def _deadline_page(
    *,
    draft: CaseDraft,
    settings: Settings,
    register: Register,
    pages: Pages,
    csrf: str,
    member: Staff,
    value: str,
    error: str | None,
    status: int = 200,
) -> HTMLResponse:
    now = dates.utcnow()
    today = dates.local_today(now, settings.timezone)
    recipients_error = None
    try:
        recipients = rounds_start.draft_recipients(draft, register)
    except InputError as exc:
        recipients, recipients_error = [], _problem(draft.id, exc)
    if not recipients and recipients_error is None:
        recipients_error = Problem(
            "Mottagare: välj vilka som ska få remissen.", f"/admin/utkast/{draft.id}/mottagare"
        )
    chosen: dt.date | None = None
    if error is None and value:
        try:
            chosen = rounds_start.check_workspace_deadline(value, today=today)
        except InputError:
            chosen = None
    policy = rounds_start.draft_policy(draft, settings)
    advice = rounds_start.deadline_advice(
        recipients,
        today=today,
        deadline=chosen,
        days_after_meeting=policy.arbetsdagar_efter_sammantrade,
    )
    return pages.page(
        "ws_svarstid.html",
        {
            "utkast": draft,
            "rubrik": _heading(draft),
            "user": member.user,
            "may_act": member.may_act,
            "csrf": csrf,
            "varde": value,
            "fel": error,
            "rad": advice,
            "valt": chosen,
            "mottagarfel": recipients_error,
            "antal": len(recipients),
        },
        status,
    )


@router.get("/{draft_id}/svarstid", response_class=HTMLResponse)
def deadline_form(
    staff: StaffDep, settings: SettingsDep, pages: PagesDep, csrf_guard: CsrfDep, draft_id: RowId
) -> Response:
    member = signed_in(staff)
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        sent = _sent_on(draft)
        if sent:
            return sent
        response = _deadline_page(
            draft=draft,
            settings=settings,
            register=register,
            pages=pages,
            csrf=csrf_guard.token,
            member=member,
            value=str((draft.data or {}).get("svar_senast") or ""),
            error=None,
        )
    return csrf_guard.keep(response)


@router.post("/{draft_id}/svarstid")
def save_deadline(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    draft_id: RowId,
    csrf: Annotated[str, Form()] = "",
    svar_senast: Annotated[str, Form(max_length=100)] = "",
    gora: Annotated[str, Form(max_length=20)] = "fortsatt",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    user = member.user
    register = load_register(settings.register)
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        sent = _sent_on(draft)
        if sent:
            return sent
        try:
            day = rounds_start.check_workspace_deadline(
                svar_senast, today=dates.local_today(now, settings.timezone)
            )
        except InputError as exc:
            response = _deadline_page(
                draft=draft,
                settings=settings,
                register=register,
                pages=pages,
                csrf=csrf_guard.token,
                member=member,
                value=svar_senast,
                error=exc.message,
                status=400,
            )
            return csrf_guard.keep(response)
        save_draft(
            session,
            draft=draft,
            changes={"svar_senast": day.isoformat()},
            user=user,
            now=now,
            what="svarstid",
        )
    target = "svarstid" if gora == "kontrollera" else "forhandsgranska"
    return RedirectResponse(f"/admin/utkast/{draft_id}/{target}", status_code=303)


# --- Förhandsgranska ------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    plan: RoundPlan | None
    problems: list[Problem]
    email: OutgoingEmail | None
    shown: int  # index of the recipient whose e-mail is shown
    warnings: tuple[str, ...]


def _preview(
    session: Session,
    draft: CaseDraft,
    *,
    settings: Settings,
    register: Register,
    shown: int,
) -> Preview:
    now = dates.utcnow()
    try:
        plan = rounds_start.plan_draft(draft, settings=settings, register=register, now=now)
    except InputError as exc:
        return Preview(None, [_problem(draft.id, exc)], None, 0, ())
    problems = []
    conflict = rounds_start.open_round_conflict(session, diarienummer=plan.case.diarienummer)
    if conflict:
        problems.append(Problem(conflict, "/admin"))
    shown = shown if 0 <= shown < len(plan.recipients) else 0
    recipient = plan.recipients[shown]
    email = missiv_preview(
        case=plan.case,
        recipient=recipient,
        deadline=plan.deadline,
        handlingar=sorted(draft.documents, key=lambda d: d.position),
        settings=settings,
        link=answer_link(settings.base_url, LINK_PLACEHOLDER),
        tagg=TAG_PLACEHOLDER,
        now=now,
    )
    warnings = check_meetings(
        plan.recipients,
        send_date=dates.local_today(now, settings.timezone),
        deadline=plan.deadline,
        days_after_meeting=plan.policy.arbetsdagar_efter_sammantrade,
    ).warnings
    return Preview(plan, problems, email, shown, warnings)


def _preview_page(
    *,
    draft: CaseDraft,
    preview: Preview,
    pages: Pages,
    csrf: str,
    member: Staff,
    status: int = 200,
) -> HTMLResponse:
    response = pages.page(
        "ws_forhandsgranska.html",
        {
            "utkast": draft,
            "rubrik": _heading(draft),
            "user": member.user,
            "may_act": member.may_act,
            "csrf": csrf,
            "plan": preview.plan,
            "problem": preview.problems,
            "epost": preview.email,
            "visad": preview.shown,
            "varningar": preview.warnings,
            "handlingar": sorted(draft.documents, key=lambda d: d.position),
            "exempel_tagg": subject_tag(123, "3f9a2c"),
        },
        status,
    )
    response.headers["Content-Security-Policy"] = PREVIEW_PAGE_CSP
    return response


@router.get("/{draft_id}/forhandsgranska", response_class=HTMLResponse)
def preview_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    draft_id: RowId,
    till: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    member = signed_in(staff)
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        sent = _sent_on(draft)
        if sent:
            return sent
        preview = _preview(session, draft, settings=settings, register=register, shown=till)
        response = _preview_page(
            draft=draft, preview=preview, pages=pages, csrf=csrf_guard.token, member=member
        )
    return csrf_guard.keep(response)


@router.get("/{draft_id}/forhandsgranska/html", response_class=HTMLResponse)
def preview_html(
    staff: StaffDep,
    settings: SettingsDep,
    draft_id: RowId,
    till: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """The HTML part alone, for the preview page's sandboxed frame."""
    signed_in(staff)
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        if draft.state != DraftState.DRAFT:
            raise StarletteHTTPException(status_code=404)
        preview = _preview(session, draft, settings=settings, register=register, shown=till)
    if preview.email is None:
        raise StarletteHTTPException(status_code=404)
    return HTMLResponse(
        preview.email.html,
        headers={"Content-Security-Policy": MAIL_HTML_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


# --- Skicka ---------------------------------------------------------------------------------


@router.post("/{draft_id}/skicka")
def send(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    draft_id: RowId,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    user = member.user
    register = load_register(settings.register)
    now = dates.utcnow()
    done = RedirectResponse(f"/admin/utkast/{draft_id}/skickas", status_code=303)
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        if draft.state == DraftState.STARTED:
            return done
        if draft.state == DraftState.STARTING:
            # A double click or a reload: handed on already. Only a job lost long ago
            # (no round after LOST_JOB_AFTER) is handed on again.
            lost = draft.updated_at < now - LOST_JOB_AFTER
            if lost and jobs is not None:
                jobs.submit("starta", draft_id=draft_id)
            return done
        try:
            moved = rounds_start.request_start(
                session, draft=draft, settings=settings, register=register, user=user, now=now
            )
        except (InputError, ConflictError) as exc:
            # Refused before anything was changed; the preview shows why, as a GET would.
            preview = _preview(session, draft, settings=settings, register=register, shown=0)
            if not preview.problems:
                preview = replace(preview, problems=[_problem(draft_id, exc)])
            response = _preview_page(
                draft=draft,
                preview=preview,
                pages=pages,
                csrf=csrf_guard.token,
                member=member,
                status=409 if isinstance(exc, ConflictError) else 400,
            )
            return csrf_guard.keep(response)
    # Handed on only after the commit: the job finds the draft in starting.
    if moved and jobs is not None:
        jobs.submit("starta", draft_id=draft_id)
    return done


@router.get("/{draft_id}/skickas", response_class=HTMLResponse)
def sending(
    staff: StaffDep, settings: SettingsDep, pages: PagesDep, csrf_guard: CsrfDep, draft_id: RowId
) -> Response:
    user = signed_in(staff).user
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        if draft.state == DraftState.DRAFT:
            # Not sent, or given back because it no longer passed the checks: the preview
            # says what to put right.
            return RedirectResponse(f"/admin/utkast/{draft_id}/forhandsgranska", status_code=303)
        response = pages.page(
            "ws_skickas.html",
            {
                "utkast": draft,
                "rubrik": _heading(draft),
                "user": user,
                "csrf": csrf_guard.token,
                "omgang": draft.round_id,
                "fordrojd": draft.state == DraftState.STARTING
                and draft.updated_at < now - LOST_JOB_AFTER,
            },
        )
    return csrf_guard.keep(response)
