"""The workspace's first steps of a new remiss: the case (/admin/ny, /admin/utkast/{id}) and
its recipients (/admin/utkast/{id}/mottagare). Plain forms, POST-redirect-GET; a draft is
checked by the case file's own validators (remiss.cases.casefile)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.cases import drafts
from remiss.cases.casefile import AD_HOC_KEYS, check_remissinstanser, field_errors
from remiss.cases.suggest import MAX_TEXT, Suggestion, suggest
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.terms import ARENDETYPER
from remiss.db.engine import session_scope
from remiss.db.models import CaseDraft, Document
from remiss.register.instances import KINDS, Register, Remissinstans, load_register
from remiss.report.extract import Extracted, ExtractLimits, extract_limited
from remiss.storage.uploads import CheckedFile, UploadError, check_file, upload_limits
from remiss.web.deps import Csrf, CsrfDep, PagesDep, SettingsDep
from remiss.web.pages import Pages
from remiss.web.security import RowId
from remiss.web.staff import PASSWORD_USER, Staff, StaffDep, acting, signed_in

router = APIRouter(prefix="/admin")

# The fields of the first step, checked when it is saved; the deadline and the recipients
# are checked on their own steps.
CASE_FIELDS = (
    "arendetyp",
    "motionarer",
    "att_satser",
    "handlaggare",
    "missiv",
    "diarienummer",
    "rubrik",
    "vackt",
)
# Reading a motion for a suggestion: a few pages, in a child process with its own limits.
SUGGEST_LIMITS = ExtractLimits(
    max_chars=MAX_TEXT, max_pdf_pages=30, cpu_seconds=15, wall_seconds=30.0
)
MAX_ROWS = 50  # att-satser or motionärer: more is a mistake (or a script)
# The register groups offered first, in this order; the others follow.
MAIN_GROUPS = ("facknamnder", "stadsdelsnamnder", "bolag", "rad")
KIND_HEADINGS = {
    "namnd": "Facknämnder",
    "stadsdelsnamnd": "Stadsdelsnämnder",
    "bolag": "Bolag",
    "rad": "Råd",
    "extern": "Externa organisationer i registret",
}

MISSING = {
    "diarienummer": "Ange ärendets diarienummer.",
    "rubrik": "Ange ärendets rubrik.",
    "arendetyp": "Välj ärendetyp.",
    "att_satser": "Skriv minst en att-sats.",
    "handlaggare": "Ange handläggarens namn och e-postadress.",
    "handlaggare-namn": "Ange handläggarens namn.",
    "handlaggare-epost": "Ange handläggarens e-postadress.",
    "motionarer.namn": "Ange motionärens namn.",
    "motionarer.parti": "Ange motionärens parti, till exempel S eller M.",
    "extern-namn": "Ange organisationens namn.",
    "extern-epost": "Ange e-postadressen dit remissen ska skickas.",
    "namn": "Ange namnet.",
    "parti": "Ange partiet.",
    "epost": "Ange e-postadressen.",
    "typ": "Välj typ.",
}
LABELS = {
    "diarienummer": "Diarienumret",
    "rubrik": "Rubriken",
    "handlaggare-namn": "Handläggarens namn",
    "namn": "Namnet",
    "parti": "Partiet",
}


# --- Field names and messages --------------------------------------------------------------


def form_id(field: str | None) -> str:
    """The id of the form field an InputError's case-file field is shown at."""
    field = field or ""
    if match := re.fullmatch(r"motionarer(?:\[(\d+)\](?:\.(namn|parti))?)?", field):
        return f"motionar-{match.group(1) or 0}-{match.group(2) or 'namn'}"
    if match := re.fullmatch(r"att_satser(?:\[(\d+)\])?", field):
        return f"att-sats-{match.group(1) or 0}"
    if match := re.fullmatch(r"handlaggare(?:\.(namn|epost))?", field):
        return f"handlaggare-{match.group(1) or 'namn'}"
    if match := re.fullmatch(r"remissinstanser\[\d+\](?:\.(namn|epost|typ))?", field):
        return f"extern-{match.group(1) or 'namn'}"
    return field.replace("_", "-") or "formular"


def message(exc: InputError, where: str) -> str:
    """The Swedish sentence shown at the field: the validators' words, made for a form."""
    text = exc.message
    last = where.rsplit("-", 1)[-1]
    key = re.sub(r"\[\d+\]", "", exc.field or "")
    if text in ("fältet saknas eller är tomt", "får inte vara tomt"):
        found = MISSING.get(where) or MISSING.get(key) or MISSING.get(last)
        return found or "Fältet får inte vara tomt."
    if text.startswith("okänd typ"):
        return "Välj en av typerna i listan."
    if text.startswith("ogiltig e-postadress") or text == "ska vara en e-postadress":
        return "Ange en giltig e-postadress, till exempel fornamn.efternamn@stockholm.example."
    if text.startswith("ska vara ett datum"):
        return "Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2026-10-19."
    if text == "en motion ska ha minst en motionär":
        return "En motion ska ha minst en motionär: ange namn och parti."
    if text.startswith("får vara högst"):
        label = LABELS.get(where) or LABELS.get(last) or "Texten"
        return f"{label} {text}."
    if text.startswith("okänd ärendetyp"):
        return "Välj en av ärendetyperna i listan."
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def errors_of(found: list[InputError]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for exc in found:
        where = form_id(exc.field)
        errors.setdefault(where, message(exc, where))
    return errors


# --- Helpers ---------------------------------------------------------------------------------


class Refused(Exception):
    """A form refused: raised out of the transaction, so nothing of it is stored."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def prefilled_name(user: str) -> str:
    """The handläggare's name guessed from the login's user name ("karin.lindqvist" gives
    "Karin Lindqvist"); the shared password login names nobody."""
    if user == PASSWORD_USER:
        return ""
    local = user.split("@", 1)[0]
    if re.fullmatch(r"[a-zåäöé]+(?:[._][a-zåäöé]+)+", local):
        return " ".join(part.capitalize() for part in re.split(r"[._]", local))
    return user


def prefilled_email(user: str) -> str:
    return user if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", user) else ""


def _page(
    pages: Pages, csrf: Csrf, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    response = pages.page(name, {"csrf": csrf.token, **context}, status)
    return csrf.keep(response)


def _draft_or_404(session: Session, draft_id: int) -> CaseDraft:
    try:
        return drafts.get_draft(session, draft_id=draft_id)
    except NotFoundError as exc:
        raise StarletteHTTPException(status_code=404) from exc


def _editable(session: Session, draft_id: int) -> CaseDraft:
    draft = _draft_or_404(session, draft_id)
    try:
        return drafts.editable_draft(session, draft_id=draft.id)
    except ConflictError as exc:
        raise StarletteHTTPException(status_code=409, detail=str(exc)) from exc


def _suggestions(draft: CaseDraft, data: dict[str, Any]) -> list[tuple[Document, Suggestion]]:
    """What each handling with readable text suggests, unless it is already what the form
    says."""
    current_att = tuple(" ".join(str(a).split()) for a in data.get("att_satser") or [])
    current_mot = tuple(
        (str(m.get("namn", "")).strip(), str(m.get("parti", "")).strip())
        for m in data.get("motionarer") or []
        if isinstance(m, dict)
    )
    out = []
    for doc in sorted(draft.documents, key=lambda d: d.position):
        if not doc.text:
            continue
        found = suggest(doc.text)
        if not found.att_satser:
            continue  # not a motion's text: its names alone would mislead
        if found.att_satser == current_att and (
            not found.motionarer or found.motionarer == current_mot
        ):
            continue
        out.append((doc, found))
    return out


def _case_context(
    draft: CaseDraft,
    staff: Staff,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    data = values if values is not None else dict(draft.data or {})
    motionarer = [m for m in data.get("motionarer") or [] if isinstance(m, dict)] or [
        {"namn": "", "parti": ""}
    ]
    att_satser = [str(a) for a in data.get("att_satser") or []] or [""]
    handlaggare = data.get("handlaggare") if isinstance(data.get("handlaggare"), dict) else {}
    return {
        "utkast": draft,
        "user": staff.user,
        "may_act": staff.may_act,
        "v": data,
        "motionarer": motionarer,
        "att_satser": att_satser,
        "handlaggare": handlaggare or {},
        "arendetyper": ARENDETYPER,
        "handlingar": sorted(draft.documents, key=lambda d: d.position),
        "forslag": _suggestions(draft, data),
        "errors": errors or {},
        "notice": notice,
        "fil_titel": "",
        "steg": "arende",
    }


NOTICES = {
    "sparat": "Ärendet är sparat.",
    "uppladdad": "Handlingen är uppladdad.",
    "borttagen": "Handlingen är borttagen från ärendet.",
    "forslag": "Förslaget är infört. Granska att-satserna och motionärerna och spara.",
    "rad": "Formuläret är sparat som utkast.",
    "mottagare": "Urvalet av mottagare är sparat.",
    "extern": "Organisationen är tillagd som mottagare för det här ärendet.",
}


# --- New case --------------------------------------------------------------------------------


@router.get("/ny", response_class=HTMLResponse)
def new_case_form(staff: StaffDep, pages: PagesDep, csrf_guard: CsrfDep) -> HTMLResponse:
    member = signed_in(staff)
    return _page(
        pages,
        csrf_guard,
        "ws_utkast_ny.html",
        {"user": member.user, "may_act": member.may_act, "steg": "ny"},
    )


@router.post("/ny")
def new_case(
    staff: StaffDep,
    settings: SettingsDep,
    csrf_guard: CsrfDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    data: dict[str, Any] = {"arendetyp": "motion"}
    name, email = prefilled_name(member.user), prefilled_email(member.user)
    if name or email:
        data["handlaggare"] = {"namn": name, "epost": email}
    with session_scope(settings.database_url) as session:
        draft = drafts.create_draft(session, user=member.user, now=dates.utcnow(), data=data)
        draft_id = draft.id
    return RedirectResponse(f"/admin/utkast/{draft_id}", status_code=303)


@router.get("/utkast/{draft_id}", response_class=HTMLResponse)
def case_form(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    draft_id: RowId,
    klart: str = "",
) -> HTMLResponse:
    member = signed_in(staff)
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        context = _case_context(draft, member, notice=NOTICES.get(klart))
        return _page(pages, csrf_guard, "ws_utkast.html", context)


def _form_data(
    diarienummer: str,
    rubrik: str,
    arendetyp: str,
    vackt: str,
    motionar_namn: list[str],
    motionar_parti: list[str],
    att_sats: list[str],
    handlaggare_namn: str,
    handlaggare_epost: str,
    missiv: str,
) -> dict[str, Any]:
    """The form as case-file keys, as typed (rows cut at MAX_ROWS)."""
    names = motionar_namn[:MAX_ROWS]
    parties = motionar_parti[:MAX_ROWS] + [""] * (len(names) - len(motionar_parti))
    return {
        "diarienummer": diarienummer.strip(),
        "rubrik": rubrik.strip(),
        "arendetyp": arendetyp.strip(),
        "vackt": vackt.strip(),
        "motionarer": [
            {"namn": n.strip(), "parti": p.strip()} for n, p in zip(names, parties, strict=False)
        ],
        "att_satser": [a.strip() for a in att_sats[:MAX_ROWS]],
        "handlaggare": {"namn": handlaggare_namn.strip(), "epost": handlaggare_epost.strip()},
        "missiv": missiv.strip(),
    }


def _without_empty_rows(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    out["motionarer"] = [m for m in data["motionarer"] if m["namn"] or m["parti"]]
    out["att_satser"] = [a for a in data["att_satser"] if a]
    return out


def _row_action(data: dict[str, Any], atgard: str) -> tuple[dict[str, Any], str] | None:
    """Add or remove a motionär or an att-sats; (new data, anchor), or None for another
    action."""
    out = dict(data)
    motionarer, att_satser = list(data["motionarer"]), list(data["att_satser"])
    if atgard == "lagg_till_motionar" and len(motionarer) < MAX_ROWS:
        motionarer.append({"namn": "", "parti": ""})
        out["motionarer"] = motionarer
        return out, f"motionar-{len(motionarer) - 1}-namn"
    if atgard == "lagg_till_att_sats" and len(att_satser) < MAX_ROWS:
        att_satser.append("")
        out["att_satser"] = att_satser
        return out, f"att-sats-{len(att_satser) - 1}"
    if match := re.fullmatch(r"ta_bort_motionar_(\d+)", atgard):
        index = int(match.group(1))
        if index < len(motionarer):
            del motionarer[index]
        out["motionarer"] = motionarer
        return out, "motionarer"
    if match := re.fullmatch(r"ta_bort_att_sats_(\d+)", atgard):
        index = int(match.group(1))
        if index < len(att_satser):
            del att_satser[index]
        out["att_satser"] = att_satser
        return out, "att-satser"
    return None


@router.post("/utkast/{draft_id}")
def save_case(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    draft_id: RowId,
    csrf: Annotated[str, Form()] = "",
    atgard: Annotated[str, Form()] = "spara",
    diarienummer: Annotated[str, Form()] = "",
    rubrik: Annotated[str, Form()] = "",
    arendetyp: Annotated[str, Form()] = "",
    vackt: Annotated[str, Form()] = "",
    motionar_namn: Annotated[list[str] | None, Form()] = None,
    motionar_parti: Annotated[list[str] | None, Form()] = None,
    att_sats: Annotated[list[str] | None, Form()] = None,
    handlaggare_namn: Annotated[str, Form()] = "",
    handlaggare_epost: Annotated[str, Form()] = "",
    missiv: Annotated[str, Form()] = "",
    fil: Annotated[UploadFile | None, File()] = None,
    fil_titel: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    now = dates.utcnow()
    typed = _form_data(
        diarienummer,
        rubrik,
        arendetyp,
        vackt,
        list(motionar_namn or []),
        list(motionar_parti or []),
        list(att_sats or []),
        handlaggare_namn,
        handlaggare_epost,
        missiv,
    )
    upload = (fil.filename or "", fil.file.read()) if fil and (fil.filename or fil.size) else None
    limits = upload_limits(settings)
    checked: CheckedFile | None = None
    upload_error: str | None = None
    read: Extracted | None = None
    if upload is not None:
        try:
            checked = check_file(upload[0], upload[1], limits)
        except UploadError as exc:
            upload_error = exc.message
        else:
            # Read before the transaction opens: a slow file holds no lock on the database.
            read = extract_limited(checked.data, checked.kind, SUGGEST_LIMITS)
    try:
        with session_scope(settings.database_url) as session:
            draft = _editable(session, draft_id)
            if upload is None and atgard == "ladda_upp":
                raise Refused({"fil": "Välj en fil att ladda upp."})
            if upload_error is not None:
                raise Refused({"fil": upload_error})
            if checked is not None:
                existing = list(draft.documents)
                if len(existing) >= limits.max_files:
                    most = f"Ärendet kan ha högst {limits.max_files} handlingar."
                    raise Refused({"fil": most})
                if sum(d.size for d in existing) + len(checked.data) > limits.max_total_bytes:
                    raise Refused(
                        {"fil": "Handlingarna blir tillsammans för stora med den här filen."}
                    )
                title = " ".join(fil_titel.split())[:300] or checked.filename.rsplit(".", 1)[0]
                doc = drafts.add_document(
                    session,
                    draft=draft,
                    checked=checked,
                    title=title,
                    store=settings.documents_dir,
                    user=member.user,
                    now=now,
                )
                if read is not None:
                    doc.text, doc.text_error = read.text, read.error

            if match := re.fullmatch(r"ta_bort_handling_(\d+)", atgard):
                try:
                    drafts.remove_document(
                        session,
                        draft=draft,
                        document_id=int(match.group(1)),
                        user=member.user,
                        now=now,
                    )
                except NotFoundError:
                    raise Refused({"handlingar": "Handlingen finns inte i ärendet."}) from None
                drafts.save_draft(
                    session, draft=draft, changes=typed, user=member.user, now=now, what="formular"
                )
                return _back(draft_id, "borttagen", "handlingar")

            if match := re.fullmatch(r"anvand_forslag_(\d+)", atgard):
                source_doc = next((d for d in draft.documents if d.id == int(match.group(1))), None)
                found = suggest(source_doc.text) if source_doc and source_doc.text else None
                if not found:
                    raise Refused({"forslag": "Förslaget finns inte längre."})
                changes = dict(typed, att_satser=list(found.att_satser))
                if found.motionarer:
                    changes["motionarer"] = [{"namn": n, "parti": p} for n, p in found.motionarer]
                drafts.save_draft(
                    session, draft=draft, changes=changes, user=member.user, now=now, what="forslag"
                )
                return _back(draft_id, "forslag", "att-satser")

            row = _row_action(typed, atgard)
            if row is not None:
                changed, anchor = row
                drafts.save_draft(
                    session, draft=draft, changes=changed, user=member.user, now=now, what=atgard
                )
                return _back(draft_id, "rad", anchor)

            if atgard == "ladda_upp":
                drafts.save_draft(
                    session, draft=draft, changes=typed, user=member.user, now=now, what="formular"
                )
                return _back(draft_id, "uppladdad", "handlingar")

            # Spara, or Spara och gå vidare: the step's fields must hold.
            cleaned = _without_empty_rows(typed)
            found_errors = field_errors(
                cleaned, source=drafts.draft_source(draft), fields=CASE_FIELDS
            )
            if found_errors:
                raise Refused(errors_of(found_errors))
            drafts.save_draft(
                session, draft=draft, changes=cleaned, user=member.user, now=now, what="arendet"
            )
    except Refused as exc:
        errors = dict(exc.errors)
        if upload is not None and "fil" not in errors:
            errors["fil"] = "Filen är inte sparad: välj den igen när felen är rättade."
        with session_scope(settings.database_url) as session:
            draft = _draft_or_404(session, draft_id)
            context = _case_context(draft, member, values=typed, errors=errors)
            context["fil_titel"] = fil_titel
            return _page(pages, csrf_guard, "ws_utkast.html", context, 422)
    if atgard == "spara_vidare":
        return RedirectResponse(f"/admin/utkast/{draft_id}/mottagare", status_code=303)
    return _back(draft_id, "sparat", None)


def _back(draft_id: int, notice: str, anchor: str | None, step: str = "") -> RedirectResponse:
    where = f"/admin/utkast/{draft_id}{step}?klart={notice}"
    return RedirectResponse(where + (f"#{anchor}" if anchor else ""), status_code=303)


# --- Recipients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    """The draft's recipients: register codes (groups expanded) and outside organisations."""

    codes: list[str]
    ad_hoc: list[dict[str, str]]

    def entries(self) -> list[Any]:
        return [*self.codes, *self.ad_hoc]


def chosen_of(data: dict[str, Any], register: Register) -> Chosen:
    codes: set[str] = set()
    ad_hoc: list[dict[str, str]] = []
    for item in data.get("remissinstanser") or []:
        if isinstance(item, dict):
            ad_hoc.append({k: str(item.get(k, "")) for k in sorted(AD_HOC_KEYS)})
        elif isinstance(item, str) and item in register.instanser:
            codes.add(item)
        elif isinstance(item, str) and item in register.groups:
            codes.update(register.groups[item].members)
    return Chosen([c for c in register.instanser if c in codes], ad_hoc)


def _groups(register: Register) -> list[tuple[str, str, int]]:
    first = [g for g in MAIN_GROUPS if g in register.groups]
    rest = [g for g in register.groups if g not in first]
    return [(g, register.groups[g].name, len(register.groups[g].members)) for g in first + rest]


def _matches(inst: Remissinstans, sok: str) -> bool:
    wanted = sok.casefold().strip()
    return not wanted or wanted in inst.name.casefold() or wanted in inst.code


def _recipients_context(
    draft: CaseDraft,
    register: Register,
    staff: Staff,
    *,
    sok: str = "",
    extern: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    chosen = chosen_of(draft.data or {}, register)
    selected = set(chosen.codes)
    shown = [i for i in register.instanser.values() if _matches(i, sok)]
    by_kind: dict[str, list[Remissinstans]] = {}
    for inst in shown:
        by_kind.setdefault(inst.kind, []).append(inst)
    return {
        "utkast": draft,
        "user": staff.user,
        "may_act": staff.may_act,
        "sok": sok,
        "grupper": [
            (code, name, count, set(register.groups[code].members) <= selected and count > 0)
            for code, name, count in _groups(register)
        ],
        "instanser": [(KIND_HEADINGS.get(k, k), by_kind[k]) for k in KIND_HEADINGS if k in by_kind],
        "visade": [i.code for i in shown],
        "valda": set(chosen.codes),
        "valda_namn": [register.instanser[c] for c in chosen.codes],
        "externa": chosen.ad_hoc,
        "antal": len(chosen.codes) + len(chosen.ad_hoc),
        "typer": dict(KINDS),
        "extern": extern or {"namn": "", "epost": "", "typ": "extern"},
        "errors": errors or {},
        "notice": notice,
        "steg": "mottagare",
    }


@router.get("/utkast/{draft_id}/mottagare", response_class=HTMLResponse)
def recipients_form(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    draft_id: RowId,
    sok: str = "",
    klart: str = "",
) -> HTMLResponse:
    member = signed_in(staff)
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = _draft_or_404(session, draft_id)
        context = _recipients_context(
            draft, register, member, sok=sok[:200], notice=NOTICES.get(klart)
        )
        return _page(pages, csrf_guard, "ws_utkast_mottagare.html", context)


def _save_selection(
    chosen: Chosen,
    register: Register,
    *,
    grupp: list[str],
    grupp_visad: list[str],
    instans: list[str],
    visad: list[str],
) -> list[str]:
    """The codes chosen after this form: the shown checkboxes decide for what they show; a
    group newly ticked adds all its members, one unticked (that was whole) removes them."""
    before = set(chosen.codes)
    after = (before - set(visad)) | {c for c in instans if c in register.instanser}
    for code in grupp_visad:
        group = register.groups.get(code)
        if group is None:
            continue
        members = set(group.members)
        was_whole = bool(members) and members <= before
        if code in grupp and not was_whole:
            after |= members
        elif code not in grupp and was_whole:
            after -= members
    return [c for c in register.instanser if c in after]


@router.post("/utkast/{draft_id}/mottagare")
def save_recipients(
    staff: StaffDep,
    settings: SettingsDep,
    pages: PagesDep,
    csrf_guard: CsrfDep,
    draft_id: RowId,
    csrf: Annotated[str, Form()] = "",
    atgard: Annotated[str, Form()] = "spara",
    sok: Annotated[str, Form()] = "",
    grupp: Annotated[list[str] | None, Form()] = None,
    grupp_visad: Annotated[list[str] | None, Form()] = None,
    instans: Annotated[list[str] | None, Form()] = None,
    visad: Annotated[list[str] | None, Form()] = None,
    extern_namn: Annotated[str, Form()] = "",
    extern_epost: Annotated[str, Form()] = "",
    extern_typ: Annotated[str, Form()] = "",
) -> Response:
    csrf_guard.check(csrf)
    member = acting(staff)
    now = dates.utcnow()
    register = load_register(settings.register)
    search = f"&sok={quote(sok[:200])}" if sok.strip() else ""
    extern = {
        "namn": " ".join(extern_namn.split()),
        "epost": extern_epost.strip(),
        "typ": extern_typ.strip(),
    }
    try:
        with session_scope(settings.database_url) as session:
            draft = _editable(session, draft_id)
            chosen = chosen_of(draft.data or {}, register)
            if atgard == "lagg_till_extern":
                entries = [*chosen.entries(), extern]
                where = len(entries) - 1
                try:
                    check_remissinstanser(
                        {"remissinstanser": entries}, source=drafts.draft_source(draft)
                    )
                    drafts.check_recipients(
                        {"remissinstanser": entries},
                        register=register,
                        source=drafts.draft_source(draft),
                    )
                except InputError as exc:
                    field = exc.field or ""
                    if not field.startswith(f"remissinstanser[{where}]"):
                        field = f"remissinstanser[{where}].epost"  # the same address twice
                    raise Refused({form_id(field): message(exc, form_id(field))}) from None
                drafts.save_draft(
                    session,
                    draft=draft,
                    changes={"remissinstanser": entries},
                    user=member.user,
                    now=now,
                    what="extern_tillagd",
                )
                return _back(draft_id, "extern", "valda", "/mottagare")

            if match := re.fullmatch(r"ta_bort_extern_(\d+)", atgard):
                index = int(match.group(1))
                ad_hoc = [e for i, e in enumerate(chosen.ad_hoc) if i != index]
                drafts.save_draft(
                    session,
                    draft=draft,
                    changes={"remissinstanser": [*chosen.codes, *ad_hoc]},
                    user=member.user,
                    now=now,
                    what="extern_borttagen",
                )
                return _back(draft_id, "mottagare", "valda", "/mottagare")

            if match := re.fullmatch(r"ta_bort_(\w+)", atgard):
                codes = [c for c in chosen.codes if c != match.group(1)]
                drafts.save_draft(
                    session,
                    draft=draft,
                    changes={"remissinstanser": [*codes, *chosen.ad_hoc]},
                    user=member.user,
                    now=now,
                    what="mottagare",
                )
                return _back(draft_id, "mottagare", "valda", "/mottagare")

            codes = _save_selection(
                chosen,
                register,
                grupp=list(grupp or []),
                grupp_visad=list(grupp_visad or []),
                instans=list(instans or []),
                visad=list(visad or []),
            )
            if atgard == "vidare" and not codes and not chosen.ad_hoc:
                raise Refused({"grupper": "Välj minst en remissinstans."})
            drafts.save_draft(
                session,
                draft=draft,
                changes={"remissinstanser": [*codes, *chosen.ad_hoc]},
                user=member.user,
                now=now,
                what="mottagare",
            )
    except Refused as exc:
        with session_scope(settings.database_url) as session:
            draft = _draft_or_404(session, draft_id)
            context = _recipients_context(
                draft, register, member, sok=sok[:200], extern=extern, errors=exc.errors
            )
            return _page(pages, csrf_guard, "ws_utkast_mottagare.html", context, 422)
    if atgard == "vidare":
        return RedirectResponse(f"/admin/utkast/{draft_id}/svarstid", status_code=303)
    return RedirectResponse(
        f"/admin/utkast/{draft_id}/mottagare?klart=mottagare{search}#valda", status_code=303
    )
