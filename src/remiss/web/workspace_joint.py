"""The workspace page where a handläggare confirms or rejects joint-answer claims."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.answers import joint
from remiss.core import dates
from remiss.core.errors import ConflictError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.terms import POSITION_LABELS
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.web.deps import Csrf, CsrfDep, PagesDep, SettingsDep
from remiss.web.pages import Pages
from remiss.web.security import RowId
from remiss.web.staff import Staff, StaffDep, acting, signed_in

router = APIRouter(prefix="/admin")

DECISIONS = {"bekrafta": True, "avvisa": False}
NOTICES = {
    "bekraftat": "Det gemensamma svaret är bekräftat. Det räknas nu som svar från {partner}.",
    "avvisat": "Det gemensamma svaret är avvisat. {partner} räknas som att inte ha svarat, och "
    "påminnelserna fortsätter.",
    "oforandrat": "Beskedet var redan registrerat; inget har ändrats.",
}


def _page(
    settings: Settings,
    pages: Pages,
    csrf: Csrf,
    member: Staff,
    round_id: int,
    *,
    notice: str | None = None,
    partner_id: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with session_scope(settings.database_url) as session:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise StarletteHTTPException(status_code=404)
        claims = joint.claims_of_round(session, round_id=round_id)
        if notice is not None:
            partner = next((d.name for d in rnd.dispatches if d.id == partner_id), None)
            notice = notice.format(partner=partner or "Remissinstansen")
        context: dict[str, Any] = {
            "omgang": rnd,
            "arende": rnd.case,
            "anspraak": claims,
            "positionsnamn": POSITION_LABELS,
            "user": member.user,
            "may_act": member.may_act,
            "csrf": csrf.token,
            "notice": notice,
            "error": error,
            "via_lanken": joint.VIA_LINK,
        }
        response = pages.page("ws_gemensamma_svar.html", context, status)
    csrf.set_cookie(response)
    return response


@router.get("/omgang/{round_id}/gemensamma-svar", response_class=HTMLResponse)
def joint_answers_page(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    klart: str | None = None,
    utskick: str = "",
) -> HTMLResponse:
    member = signed_in(staff)
    notice = NOTICES.get(klart or "")
    return _page(
        settings,
        pages,
        csrf_guard,
        member,
        round_id,
        notice=notice,
        partner_id=int(utskick) if utskick.isdigit() and len(utskick) < 19 else None,
    )


@router.post("/omgang/{round_id}/gemensamma-svar/{answer_id}/{partner_id}")
def decide(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    round_id: RowId,
    answer_id: RowId,
    partner_id: RowId,
    csrf: Annotated[str, Form()] = "",
    beslut: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    confirm = DECISIONS.get(beslut)
    if confirm is None:
        return _page(
            settings,
            pages,
            csrf_guard,
            member,
            round_id,
            error="Välj att bekräfta eller avvisa det gemensamma svaret.",
            status=400,
        )
    try:
        with session_scope(settings.database_url) as session:
            changed = joint.decide_by_staff(
                session,
                round_id=round_id,
                answer_id=answer_id,
                partner_dispatch_id=partner_id,
                confirm=confirm,
                user=member.user,
                now=dates.utcnow(),
                tz=settings.timezone,
            )
    except NotFoundError as exc:
        raise StarletteHTTPException(status_code=404) from exc
    except ConflictError as exc:
        return _page(settings, pages, csrf_guard, member, round_id, error=str(exc), status=409)
    what = ("bekraftat" if confirm else "avvisat") if changed else "oforandrat"
    return RedirectResponse(
        f"/admin/omgang/{round_id}/gemensamma-svar?klart={what}&utskick={partner_id}#lage",
        status_code=303,
    )
