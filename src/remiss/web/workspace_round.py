"""The round page at /admin/omgang/{id}: the handläggare follows a running round and acts
on it (anstånd, answers by e-mail, a later deadline, one more remissinstans, a corrected
address). Every action: CSRF, a handläggare, the change and its audit entry in one
transaction, then what it queued is handed to Prefect (`skicka`); POST-redirect-GET."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.answers import anstand as anstand_service
from remiss.answers.review import reject_answer, review_answer
from remiss.audit.log import record
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import RoundState
from remiss.core.terms import POSITION_LABELS, STALLNINGSTAGANDEN
from remiss.db.engine import session_scope
from remiss.db.models import Anstand, Dispatch, Round
from remiss.register.instances import KINDS
from remiss.report.answer_reading import disagreements, read_answer
from remiss.rounds import changes
from remiss.rounds.status import (
    FILTERS,
    SENDER_OUTSIDE,
    audit_text,
    round_workspace,
    sender_outside,
    shown_by,
    table_rows,
)
from remiss.rounds.timeline import case_timeline
from remiss.web.deps import Csrf, CsrfDep, JobsDep, PagesDep, SettingsDep
from remiss.web.pages import Pages
from remiss.web.security import RowId
from remiss.web.staff import Staff, StaffDep, acting, signed_in
from remiss.web.trigger import Jobs

router = APIRouter(prefix="/admin/omgang")

# What the page says after an action (by key: no text from the request is shown).
NOTICES = {
    "beviljat": "Anståndet är beviljat. Beslutet skickas med e-post till remissinstansen.",
    "avslaget": "Begäran om anstånd är avslagen. Beslutet skickas med e-post till remissinstansen.",
    "granskat": "Svaret är granskat och sparat som en ny version.",
    "inte-svar": (
        "E-postmeddelandet är markerat som inte ett svar. Det finns kvar som det kom, "
        "och påminnelserna fortsätter."
    ),
    "svarstid": (
        "Svarstiden är förlängd. De som inte har svarat får den nya svarsdagen med e-post, "
        "och påminnelserna följer den."
    ),
    "tillagd": "Remissinstansen är tillagd. Remissen skickas till den nu.",
    "redan-tillagd": "Remissinstansen var redan tillagd; remissen skickas inte en gång till.",
    "adress": "Adressen är rättad. Remissen skickas till den nya adressen nu.",
    "redan-rattad": "Adressen var redan rättad; remissen skickas inte en gång till.",
}


def _local(instant: dt.datetime, tz: str) -> str:
    return dates.swedish_datetime(instant, tz)


def render_round(
    *,
    staff: Staff,
    settings: Settings,
    pages: Pages,
    csrf_guard: Csrf,
    round_id: int,
    visa: str = "alla",
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    now = dates.utcnow()
    tz = settings.timezone
    with session_scope(settings.database_url) as session:
        found = round_workspace(session, round_id=round_id, now=now, tz=tz)
        if found is None:
            raise StarletteHTTPException(status_code=404)
        rnd = session.get_one(Round, round_id)
        requests = [
            {
                "id": a.id,
                "name": a.dispatch.name,
                "deadline": a.dispatch.deadline,
                "requested_date": a.requested_date,
                "reason": a.reason,
                "requested_by": a.requested_by,
                "requested_at": a.requested_at,
                "latest": anstand_service.latest_for(
                    a.dispatch, max_days=settings.anstand_max_days
                ),
            }
            for a in anstand_service.pending(session, round_id=round_id)
        ]
        addable = [
            (row.code, row.name) for row in changes.addable_instances(session, round_id=round_id)
        ]
        # The case's whole history, near the top (rounds/timeline.py, shared with the
        # report and decision pages).
        gang = case_timeline(session, round_id=round_id, tz=tz, now=now, data_dir=settings.data_dir)
        audit = [
            {"at": _local(e.at, tz), "user": e.user_name, "text": audit_text(e.action, e.detail)}
            for e in found.audit
        ]
        contradicted = disagreements(rnd)
    doc = found.status
    rows = dict(zip((d["code"] for d in doc["dispatches"]), table_rows(doc, tz), strict=True))
    visa = visa if visa in FILTERS else "alla"
    counts = {key: sum(shown_by(key, d) for d in doc["dispatches"]) for key in FILTERS}
    response = pages.page(
        "admin_round.html",
        {
            "round": doc,
            "rows": rows,
            "shown": [d for d in doc["dispatches"] if shown_by(visa, d)],
            "followed": found.followed,
            "files": found.files,
            "filters": FILTERS,
            "filter_counts": counts,
            "visa": visa,
            "requests": requests,
            "contradicted": contradicted,
            "addable": addable,
            "typer": KINDS,
            "audit": audit,
            "arendets_gang": gang,
            "user": staff.user,
            "may_act": staff.may_act and rnd.state == RoundState.OPEN,
            "read_only": not staff.may_act,
            "csrf": csrf_guard.token,
            "stallningstaganden": POSITION_LABELS,
            "notice": NOTICES.get(notice or ""),
            "errors": errors or {},
            "values": values or {},
            "tz": tz,
            "today": dates.local_today(now, tz),
        },
        status,
    )
    csrf_guard.set_cookie(response)
    return response


@router.get("/{round_id}", response_class=HTMLResponse)
def round_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    visa: str = "alla",
    klart: str | None = None,
) -> HTMLResponse:
    member = signed_in(staff)
    return render_round(
        staff=member,
        settings=settings,
        pages=pages,
        csrf_guard=csrf_guard,
        round_id=round_id,
        visa=visa,
        notice=klart,
    )


def _done(round_id: int, notice: str, jobs: Jobs | None, *, send: bool) -> Response:
    """After the commit: hand what was queued to Prefect, then show the page again."""
    if send and jobs is not None:
        # A job that is lost is not lost work: the messages stay queued for `remiss round
        # send` and the sweep, and the same action again finds its change made.
        jobs.submit("skicka", round_id=round_id)
    return RedirectResponse(f"/admin/omgang/{round_id}?klart={notice}", status_code=303)


def _refused(
    member: Staff,
    settings: Settings,
    pages: Pages,
    csrf_guard: Csrf,
    round_id: int,
    field: str,
    text: str,
    values: dict[str, Any],
    status: int = 422,
) -> HTMLResponse:
    return render_round(
        staff=member,
        settings=settings,
        pages=pages,
        csrf_guard=csrf_guard,
        round_id=round_id,
        errors={field: text},
        values=values,
        status=status,
    )


def _round_exists(settings: Settings, round_id: int) -> None:
    with session_scope(settings.database_url) as session:
        if session.get(Round, round_id) is None:
            raise StarletteHTTPException(status_code=404)


@router.post("/{round_id}/anstand/{anstand_id}")
def decide_anstand(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    anstand_id: RowId,
    csrf: Annotated[str, Form()] = "",
    beslut: Annotated[str, Form()] = "",
    datum: Annotated[str, Form()] = "",
    meddelande: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    prefix = f"anstand-{anstand_id}"
    values = {f"{prefix}-datum": datum, f"{prefix}-meddelande": meddelande}
    now = dates.utcnow()
    try:
        if beslut not in ("bevilja", "avsla"):
            raise InputError("Välj att bevilja eller avslå.", field=f"{prefix}-datum")
        grant = beslut == "bevilja"
        if len(meddelande) > 2000:
            raise InputError(
                "Meddelandet får vara högst 2000 tecken.", field=f"{prefix}-meddelande"
            )
        new_date = None
        if grant and datum.strip():
            try:
                new_date = dates.parse_date(datum)
            except ValueError as exc:
                raise InputError(changes.DATE_FORMAT_TEXT, field=f"{prefix}-datum") from exc
        with session_scope(settings.database_url) as session:
            request = session.get(Anstand, anstand_id)
            if request is None or request.dispatch.round_id != round_id:
                raise StarletteHTTPException(status_code=404)
            if request.dispatch.round.state != RoundState.OPEN:
                raise InputError("Remissomgången är avslutad.", field=f"{prefix}-datum")
            message = anstand_service.decide(
                session,
                anstand_id=anstand_id,
                grant=grant,
                now=now,
                tz=settings.timezone,
                new_date=new_date,
                note=meddelande,
                max_days=settings.anstand_max_days,
            )
            record(
                session,
                user=member.user,
                action="anstand_granted" if grant else "anstand_refused",
                now=now,
                round_id=round_id,
                remissinstans=message.dispatch.name,
                anstand_id=anstand_id,
                note=meddelande.strip() or None,
                **({"to": request.granted_date.isoformat()} if request.granted_date else {}),
            )
    except InputError as exc:
        return _refused(
            member,
            settings,
            pages,
            csrf_guard,
            round_id,
            f"{prefix}-datum" if exc.field in ("--date", None) else exc.field or "",
            exc.message,
            values,
        )
    except ConflictError as exc:
        return _refused(
            member, settings, pages, csrf_guard, round_id, "anstand", str(exc), values, 409
        )
    return _done(round_id, "beviljat" if grant else "avslaget", jobs, send=True)


@router.post("/{round_id}/svarstid")
def extend_deadline(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    csrf: Annotated[str, Form()] = "",
    ny_svarsdag: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    _round_exists(settings, round_id)
    try:
        with session_scope(settings.database_url) as session:
            extension = changes.extend_deadline(
                session,
                round_id=round_id,
                new_date=ny_svarsdag,
                user=member.user,
                now=dates.utcnow(),
                tz=settings.timezone,
            )
    except InputError as exc:
        return _refused(
            member,
            settings,
            pages,
            csrf_guard,
            round_id,
            changes.NEW_DEADLINE,
            exc.message,
            {changes.NEW_DEADLINE: ny_svarsdag},
        )
    return _done(round_id, "svarstid", jobs, send=bool(extension.notices))


def _add(
    member: Staff,
    settings: Settings,
    pages: Pages,
    csrf_guard: Csrf,
    jobs: Jobs | None,
    round_id: int,
    values: dict[str, Any],
    field: str,
    add: Callable[[Session], changes.Added],
) -> Response:
    """Add a remissinstans to the round (`add` does it in the transaction), then send its
    remiss; a refusal shows the form again with the error at `field` or the one named."""
    try:
        with session_scope(settings.database_url) as session:
            created = add(session).created
    except InputError as exc:
        return _refused(
            member, settings, pages, csrf_guard, round_id, exc.field or field, exc.message, values
        )
    except IntegrityError:
        # The same addition, submitted twice at the same moment: the other one made it.
        created = False
    return _done(round_id, "tillagd" if created else "redan-tillagd", jobs, send=created)


@router.post("/{round_id}/remissinstanser")
def add_recipient(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    csrf: Annotated[str, Form()] = "",
    remissinstans: Annotated[str, Form()] = "",
    svarsdag_ny_instans: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    _round_exists(settings, round_id)
    values = {
        changes.RECIPIENT: remissinstans,
        changes.RECIPIENT_DEADLINE: svarsdag_ny_instans,
    }
    return _add(
        member,
        settings,
        pages,
        csrf_guard,
        jobs,
        round_id,
        values,
        changes.RECIPIENT,
        lambda session: changes.add_recipient(
            session,
            round_id=round_id,
            code=remissinstans,
            deadline=svarsdag_ny_instans,
            user=member.user,
            now=dates.utcnow(),
            tz=settings.timezone,
        ),
    )


@router.post("/{round_id}/remissinstanser/utanfor")
def add_outside_organisation(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    csrf: Annotated[str, Form()] = "",
    utanfor_namn: Annotated[str, Form()] = "",
    utanfor_epost: Annotated[str, Form()] = "",
    utanfor_typ: Annotated[str, Form()] = "",
    svarsdag_utanfor: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    _round_exists(settings, round_id)
    values = {
        changes.OUTSIDE_NAME: utanfor_namn,
        changes.OUTSIDE_EMAIL: utanfor_epost,
        changes.OUTSIDE_KIND: utanfor_typ,
        changes.OUTSIDE_DEADLINE: svarsdag_utanfor,
    }
    return _add(
        member,
        settings,
        pages,
        csrf_guard,
        jobs,
        round_id,
        values,
        changes.OUTSIDE_NAME,
        lambda session: changes.add_outside_organisation(
            session,
            round_id=round_id,
            name=utanfor_namn,
            email=utanfor_epost,
            kind=utanfor_typ,
            deadline=svarsdag_utanfor,
            user=member.user,
            now=dates.utcnow(),
            tz=settings.timezone,
        ),
    )


@router.post("/{round_id}/adress/{dispatch_id}")
def correct_address(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    jobs: JobsDep,
    round_id: RowId,
    dispatch_id: RowId,
    csrf: Annotated[str, Form()] = "",
    ny_epost: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    field = f"{changes.NEW_EMAIL}-{dispatch_id}"
    with session_scope(settings.database_url) as session:
        dispatch = session.get(Dispatch, dispatch_id)
        if dispatch is None or dispatch.round_id != round_id:
            raise StarletteHTTPException(status_code=404)
    try:
        with session_scope(settings.database_url) as session:
            corrected = changes.correct_address(
                session,
                round_id=round_id,
                dispatch_id=dispatch_id,
                email=ny_epost,
                user=member.user,
                now=dates.utcnow(),
            )
            sent = corrected.message is not None
    except InputError as exc:
        return _refused(
            member, settings, pages, csrf_guard, round_id, field, exc.message, {field: ny_epost}
        )
    except IntegrityError:
        sent = False  # the same correction, submitted twice at once: the other one queued it
    return _done(round_id, "adress" if sent else "redan-rattad", jobs, send=sent)


# Reviewing an answer that came by e-mail: a page of its own (a position per att-sats).


def _review_context(settings: Settings, round_id: int, dispatch_id: int) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        dispatch = session.get(Dispatch, dispatch_id)
        if dispatch is None or dispatch.round_id != round_id:
            raise StarletteHTTPException(status_code=404)
        answer = dispatch.current_answer
        case = dispatch.round.case
        found = (
            read_answer(
                answer, body=dispatch.name, case_dnr=case.diarienummer, case_title=case.rubrik
            )
            if answer is not None
            else None
        )
        return {
            "lasning": None
            if found is None
            else {
                "position": found.position,
                "label": found.label() if found.position else None,
                "sentence": found.position_sentence,
                "file": found.position_file,
                "view": "\n\n".join(found.view),
                "view_file": found.view_file,
                "facts": found.facts(),
                "unreadable": found.unreadable,
            },
            "round_id": round_id,
            "dispatch_id": dispatch_id,
            "diarienummer": case.diarienummer,
            "rubrik": case.rubrik,
            "name": dispatch.name,
            "waiting": answer is not None and answer.needs_review,
            "answer": None
            if answer is None
            else {
                "version": answer.version,
                "submitted_at": answer.submitted_at,
                "sender": answer.contact_email,
                "sender_outside": sender_outside(answer, dispatch),
                "files": [(d.id, d.filename) for d in answer.documents],
            },
            "att_satser": [(a.number, a.text) for a in case.att_satser],
            "stallningstaganden": STALLNINGSTAGANDEN,
            "tz": settings.timezone,
            "sender_outside_text": SENDER_OUTSIDE,
        }


@router.get("/{round_id}/granska/{dispatch_id}", response_class=HTMLResponse)
def review_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    dispatch_id: RowId,
) -> HTMLResponse:
    member = signed_in(staff)
    context = _review_context(settings, round_id, dispatch_id)
    read = context["lasning"]
    # What the documents say fills the form in; the person checks it before saving.
    values = {}
    if read and read["position"] in STALLNINGSTAGANDEN:
        values["stallningstagande"] = read["position"]
    if read and read["view"]:
        values["sammanfattning"] = read["view"]
    response = pages.page(
        "ws_granska.html",
        context
        | {
            "user": member.user,
            "csrf": csrf_guard.token,
            "may_act": member.may_act,
            "errors": {},
            "values": values,
            "prefilled": bool(values),
        },
    )
    csrf_guard.set_cookie(response)
    return response


@router.post("/{round_id}/granska/{dispatch_id}")
async def review(
    request: Request,
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    dispatch_id: RowId,
) -> Response:
    form = await request.form()
    csrf_guard.check(str(form.get("csrf", "")))
    member = acting(staff)
    context = _review_context(settings, round_id, dispatch_id)
    position = str(form.get("stallningstagande", ""))
    summary = str(form.get("sammanfattning", ""))
    per_sats = {n: str(form.get(f"att_sats_{n}", "")) for n, _ in context["att_satser"]}
    values = {"stallningstagande": position, "sammanfattning": summary} | {
        f"att_sats_{n}": v for n, v in per_sats.items()
    }
    now = dates.utcnow()
    try:
        if position not in STALLNINGSTAGANDEN:
            raise InputError(
                "Välj ställningstagandet till ärendet som helhet.", field="stallningstagande"
            )
        for n, v in per_sats.items():
            if v and v not in STALLNINGSTAGANDEN:
                raise InputError("Välj ett ställningstagande i listan.", field=f"att_sats_{n}")
        if len(summary) > 5000:
            raise InputError("Sammanfattningen får vara högst 5000 tecken.", field="sammanfattning")
        with session_scope(settings.database_url) as session:
            dispatch = session.get_one(Dispatch, dispatch_id)
            reviewed = review_answer(
                session,
                dispatch=dispatch,
                position=position,
                att_sats_positions={n: v for n, v in per_sats.items() if v},
                summary=summary,
                reviewer=member.user,
                now=now,
            )
            record(
                session,
                user=member.user,
                action="answer_reviewed",
                now=now,
                round_id=round_id,
                remissinstans=dispatch.name,
                position=position,
                version=reviewed.version,
            )
    except (InputError, ConflictError, NotFoundError) as exc:
        field = getattr(exc, "field", None) or "stallningstagande"
        field = {
            "--sammanfattning": "sammanfattning",
            "--stallningstagande": "stallningstagande",
        }.get(field, field if not field.startswith("--") else "stallningstagande")
        text = exc.message if isinstance(exc, InputError) else str(exc)
        status = 409 if isinstance(exc, ConflictError) else 422
        response = pages.page(
            "ws_granska.html",
            context
            | {
                "user": member.user,
                "csrf": csrf_guard.token,
                "may_act": True,
                "errors": {field: text},
                "values": values,
                "prefilled": False,
            },
            status,
        )
        return csrf_guard.keep(response)
    return _done(round_id, "granskat", None, send=False)


@router.post("/{round_id}/granska/{dispatch_id}/inte-svar")
def reject(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    dispatch_id: RowId,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The e-mail is not an answer (a registration receipt, a forward, a question)."""
    csrf_guard.check(csrf)
    member = acting(staff)
    context = _review_context(settings, round_id, dispatch_id)
    now = dates.utcnow()
    try:
        with session_scope(settings.database_url) as session:
            dispatch = session.get_one(Dispatch, dispatch_id)
            rejected = reject_answer(session, dispatch=dispatch, reviewer=member.user, now=now)
            record(
                session,
                user=member.user,
                action="answer_rejected",
                now=now,
                round_id=round_id,
                remissinstans=dispatch.name,
                version=rejected.version,
                sender=rejected.contact_email,
            )
    except ConflictError as exc:
        response = pages.page(
            "ws_granska.html",
            context
            | {
                "user": member.user,
                "csrf": csrf_guard.token,
                "may_act": True,
                "errors": {"stallningstagande": str(exc)},
                "values": {},
                "prefilled": False,
            },
            409,
        )
        return csrf_guard.keep(response)
    return _done(round_id, "inte-svar", None, send=False)
