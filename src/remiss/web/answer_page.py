"""The answer page: what an official sees and does through the personal link."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.answers import anstand, joint, submissions
from remiss.answers import service as answers
from remiss.core import dates, language
from remiss.core.errors import InputError
from remiss.core.settings import Settings
from remiss.core.states import AnstandState, JointState
from remiss.core.terms import POSITION_LABELS, PROGRESS_LABELS
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch
from remiss.rounds.status import progress
from remiss.storage.documents import StoredFile, answer_document, case_document
from remiss.storage.uploads import (
    CheckedFile,
    UploadError,
    check_files,
    limits_sentence,
    upload_limits,
)
from remiss.web.deps import Csrf, CsrfDep, Link, LinkDep, PagesDep, TriggerDep
from remiss.web.pages import Pages, file_response
from remiss.web.security import RowId

log = logging.getLogger("remiss.web")

router = APIRouter()

STORAGE_FAILURE_TEXT = (
    "Svaret kunde inte sparas på grund av ett tekniskt fel hos oss. Ingenting av det ni "
    "skickade nu har sparats, och ett svar som ni har lämnat tidigare gäller fortfarande. "
    "Försök igen om en stund eller kontakta handläggaren."
)

NOTICES = {
    "kvittens": "Tack! Mottagandet av remissen är bekräftat.",
    "anstand": "Er begäran om anstånd är skickad. Ni får beslutet med e-post.",
    "avstar": "Ni har meddelat att ni avstår från att yttra er. Tack för beskedet.",
    "gemensamt-bekraftat": (
        "Tack! Ni har bekräftat att ni står bakom det gemensamma svaret. Det räknas nu som ert "
        "svar."
    ),
    "gemensamt-avvisat": (
        "Ni har meddelat att ni svarar själva. Lämna ert eget svar i formuläret nedan före "
        "svarsdagen."
    ),
}
JOINT_DECISIONS = {"bekrafta": True, "avvisa": False}


class StorageFailure(Exception):
    """The answer could not be written (disk or database); nothing of it was kept."""


def view(
    session: Session,
    dispatch: Dispatch,
    *,
    token: str,
    csrf: str,
    settings: Settings,
    now: dt.datetime,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    form: str | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The context of remiss.html (and kvitto.html) for the link's dispatch."""
    case = dispatch.round.case
    others = answers.other_dispatches(session, dispatch=dispatch)
    naming, made = joint.claims_about(session, dispatch=dispatch)
    # Another's joint answer counts as this one's only once confirmed.
    in_force = next((c for c in naming if c.state == JointState.CONFIRMED), None)
    joint_answer = in_force.answer if in_force is not None else None
    current = dispatch.current_answer
    declined = dispatch.declined_at is not None
    closed = answers.is_closed(dispatch)
    late = joint_answer is None and now > dates.deadline_end(dispatch.deadline, settings.timezone)
    # An own answer comes before a joint one: then the remissinstans may still change it.
    jointly = joint_answer is not None and current is None
    open_ = not closed and not jointly
    offered = {
        "kvittens": open_ and dispatch.received_at is None and current is None and not declined,
        "svar": open_ and not declined and not (current is not None and late),
        "anstand": open_ and current is None and not declined,
        "avstar": open_ and current is None and not declined,
        "gemensamt": bool(naming),
    }
    positions = answers.positions_for(case)
    limits = upload_limits(settings)
    return {
        "token": token,
        "csrf": csrf,
        "arende": case,
        "instans": dispatch,
        "motionarer": [f"{m.namn} ({m.parti})" for m in case.motionarer],
        "att_satser": case.att_satser,
        "handlingar": case.documents,
        "svar": list(reversed(dispatch.answers)),
        "aktuellt_svar": current,
        "gemensamt_svar": in_force if jointly else None,
        "anstand": dispatch.anstand,
        "vantande_anstand": next(
            (a for a in dispatch.anstand if a.state == AnstandState.REQUESTED), None
        ),
        "anstand_senast": anstand.latest_for(dispatch, max_days=settings.anstand_max_days),
        "ovriga": others,
        "gemensamma": naming,
        "mina_parter": made,
        "stallningstaganden": positions,
        "positionsnamn": POSITION_LABELS,
        "falt": answers.answer_fields(dispatch),
        "datumexempel": answers.DATE_EXAMPLE,
        "filgranser": limits_sentence(limits),
        "lage": PROGRESS_LABELS[progress(dispatch, joint_answer=joint_answer)],
        "stangd": closed,
        "erbjuds": offered,
        "svarstid_ute": late,
        "errors": errors or {},
        "fel_mal": summary_targets(errors or {}, form=form, offered=offered, positions=positions),
        "values": values or {},
        # "Ändra ert svar" starts from the answer in force, not from an empty form.
        "svarsvarden": (values or {})
        if form == "svar"
        else (answers.form_of(current) if current is not None else {}),
        "form": form,
        "notice": notice,
        # A new key for each form rendered: a second post of the same rendering (a double
        # click, a resend) is recognised and stores nothing again.
        "nyckel": submissions.new_key,
    }


def summary_targets(
    errors: dict[str, str], *, form: str | None, offered: dict[str, bool], positions: dict[str, str]
) -> dict[str, str]:
    """Where each link of the error summary goes: the field, or its form's heading for an
    error about the form as a whole; the status section when the form is no longer on the
    page (a closed round, an answer already given), so that no link leads nowhere."""
    shown = form is not None and offered.get(form, False)
    targets = {}
    for name in errors:
        if not shown:
            targets[name] = "lage"
        elif name == "form":
            targets[name] = "gemensamt-beslut" if form == "gemensamt" else f"{form}-rubrik"
        elif name == "stallningstagande":
            targets[name] = f"stallning-{next(iter(positions))}"
        else:
            targets[name] = name
    return targets


def form_error(
    link: Link,
    csrf: Csrf,
    pages: Pages,
    exc: InputError,
    form: str,
    values: dict[str, Any],
    status: int = 400,
    rename: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page again, with the form as it was sent and every error at its field."""
    with link.open() as (session, dispatch):
        context = view(
            session,
            dispatch,
            token=link.token,
            csrf=csrf.token,
            settings=link.settings,
            now=dates.utcnow(),
            errors=answers.errors_of(exc, rename=rename),
            values=values,
            form=form,
        )
        return csrf.keep(pages.page("remiss.html", context, status))


def done(token: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/r/{quote(token)}?klart={what}#lage", status_code=303)


@router.get("/", response_class=HTMLResponse)
def start(pages: PagesDep) -> HTMLResponse:
    return pages.page(
        "fel.html",
        {
            "rubrik": "Remisser",
            "text": "Använd den personliga länken i e-postmeddelandet med remissen.",
        },
    )


def opened_by_a_person(request: Request) -> bool:
    """Whether a GET of the link shows a person at a browser, not a link scanner.

    Mail systems (Microsoft Defender Safe Links and others) fetch every link in a message
    before anyone reads it. A browser marks a navigation a person started (a click in the
    e-mail, the address bar) with Sec-Fetch-User: ?1; a scanner's HTTP client sends no such
    header, and a headless browser loading the page by script does not either. Any form
    posted from the page records the opening too (answers.service)."""
    return request.headers.get("sec-fetch-user") == "?1"


@router.get("/r/{token}", response_class=HTMLResponse)
def remiss_page(
    request: Request,
    link: LinkDep,
    csrf_guard: CsrfDep,
    pages: PagesDep,
    klart: str | None = None,
) -> HTMLResponse:
    person = opened_by_a_person(request)

    def page(session: Session, dispatch: Dispatch, now: dt.datetime) -> HTMLResponse:
        context = view(
            session,
            dispatch,
            token=link.token,
            csrf=csrf_guard.token,
            settings=link.settings,
            now=now,
            notice=NOTICES.get(klart or ""),
        )
        return pages.page("remiss.html", context)

    # Views only read: they take no write lock and do not queue behind each other. Only the
    # first opening by a person writes, in a transaction of its own (once, however many
    # first views come at the same time: `record_opening`).
    with link.read(answers.PAGE_LOADS) as (session, dispatch):
        if not (person and dispatch.opened_at is None):
            return csrf_guard.keep(page(session, dispatch, dates.utcnow()))
        # Shown if the opening cannot be written (a full disk, a read-only database): the
        # official still sees the remiss; the opening is recorded at a later view.
        unrecorded = page(session, dispatch, dates.utcnow())
    try:
        with link.open(admitted=True) as (session, dispatch):
            now = dates.utcnow()
            answers.record_opening(session, dispatch=dispatch, now=now)
            response = page(session, dispatch, now)
    except DBAPIError as exc:
        # The type only: a database error's message holds the statement and its values.
        log.error(
            "the first opening of a link could not be recorded (%s); the page is shown",
            type(exc.orig or exc).__name__,
        )
        return csrf_guard.keep(unrecorded)
    return csrf_guard.keep(response)


@dataclass(frozen=True)
class SmallForm:
    """A post of one of the link's small forms (kvittens, anstånd, avstår), with what each
    of them needs."""

    link: Link
    csrf_guard: Csrf
    pages: Pages
    csrf: str
    key: str | None

    def act(
        self,
        form: str,
        *,
        values: dict[str, str],
        action: Callable[[Session, Dispatch], object],
        fields: dict[str, str] | None = None,
    ) -> Response:
        """The action in one transaction, then back to the page with a notice; or the form
        again with the error at its field (`fields` renames a service's field to the
        form's, where two forms on the page share a name)."""
        self.csrf_guard.check(self.csrf)
        try:
            with self.link.open() as (session, dispatch):
                if submissions.find(session, dispatch=dispatch, key=self.key, form=form):
                    # Posted before (a double click, a resend): done then, not again.
                    return done(self.link.token, form)
                action(session, dispatch)
                submissions.remember(
                    session, dispatch=dispatch, key=self.key, form=form, now=dates.utcnow()
                )
        except IntegrityError:
            # The same key committed by a post at the same moment: that one did it.
            if self.key is None:
                raise
            return done(self.link.token, form)
        except InputError as exc:
            return form_error(
                self.link, self.csrf_guard, self.pages, exc, form, values, rename=fields
            )
        return done(self.link.token, form)


def small_form(
    link: LinkDep,
    csrf_guard: CsrfDep,
    pages: PagesDep,
    csrf: Annotated[str, Form()] = "",
    nyckel: Annotated[str, Form()] = "",
) -> SmallForm:
    return SmallForm(
        link=link, csrf_guard=csrf_guard, pages=pages, csrf=csrf, key=submissions.valid_key(nyckel)
    )


SmallFormDep = Annotated[SmallForm, Depends(small_form)]


@router.post("/r/{token}/kvittens")
def post_kvittens(
    post: SmallFormDep,
    diarienummer: Annotated[str, Form()] = "",
    kontaktperson: Annotated[str, Form()] = "",
    epost: Annotated[str, Form()] = "",
) -> Response:
    return post.act(
        "kvittens",
        values={"diarienummer": diarienummer, "kontaktperson": kontaktperson, "epost": epost},
        action=lambda session, dispatch: answers.confirm_receipt(
            session,
            dispatch=dispatch,
            their_diarienummer=diarienummer,
            contact_name=kontaktperson,
            contact_email=epost,
            now=dates.utcnow(),
        ),
    )


@router.post("/r/{token}/anstand")
def post_anstand(
    post: SmallFormDep,
    datum: Annotated[str, Form()] = "",
    skal: Annotated[str, Form()] = "",
    epost: Annotated[str, Form()] = "",
) -> Response:
    return post.act(
        "anstand",
        values={"datum": datum, "skal": skal, "epost_anstand": epost},
        action=lambda session, dispatch: anstand.request_anstand(
            session,
            dispatch=dispatch,
            new_date=datum,
            reason=skal,
            requested_by=epost,
            now=dates.utcnow(),
            max_days=post.link.settings.anstand_max_days,
        ),
        fields={"epost": "epost_anstand"},
    )


@router.post("/r/{token}/avstar")
def post_avstar(post: SmallFormDep, skal: Annotated[str, Form()] = "") -> Response:
    return post.act(
        "avstar",
        values={"skal_avstar": skal},
        action=lambda session, dispatch: answers.decline(
            session,
            dispatch=dispatch,
            reason=skal,
            now=dates.utcnow(),
            tz=post.link.settings.timezone,
        ),
        fields={"skal": "skal_avstar"},
    )


@router.post("/r/{token}/gemensamt")
def post_gemensamt(
    post: SmallFormDep,
    svar: Annotated[str, Form()] = "",
    beslut: Annotated[str, Form()] = "",
) -> Response:
    """The partner's answer to a joint-answer claim: it stands behind it, or answers itself."""
    confirm = JOINT_DECISIONS.get(beslut)

    def decide(session: Session, dispatch: Dispatch) -> object:
        if confirm is None or not svar.isdigit() or len(svar) > 18:
            raise InputError(
                "Välj om ni står bakom svaret eller svarar själva.", field="gemensamt-beslut"
            )
        now = dates.utcnow()
        # Whoever decides has read the page, whatever a link scanner did before.
        answers.record_opening(session, dispatch=dispatch, now=now)
        return joint.decide_by_partner(
            session,
            partner=dispatch,
            answer_id=int(svar),
            confirm=confirm,
            now=now,
            tz=post.link.settings.timezone,
        )

    response = post.act("gemensamt", values={}, action=decide)
    if isinstance(response, RedirectResponse):
        what = "gemensamt-bekraftat" if confirm else "gemensamt-avvisat"
        return done(post.link.token, what)
    return response


def store_answer(
    link: Link,
    form: answers.AnswerForm,
    uploads: list[tuple[str, bytes]],
    now: dt.datetime,
    key: str | None = None,
) -> tuple[int, int, bool]:
    """Check and store one answer version; returns (answer id, version, stored now) once
    committed. A post whose submission `key` stored an answer before stores nothing and
    returns that answer (stored now: False).

    Raises `StorageFailure` when the files or the database cannot be written (a full or
    read-only disk, a database away): then nothing of this answer is kept.
    """
    settings = link.settings
    for attempt in range(5):
        written: list[StoredFile] = []
        try:
            with link.open() as (session, dispatch):
                before = submissions.find(session, dispatch=dispatch, key=key, form="svar")
                earlier = submissions.answer_version(session, before) if before else None
                if earlier is not None:
                    return (*earlier, False)
                # The form and the files are checked together: every mistake at once.
                problems = answers.Problems()
                values = problems.take(
                    lambda: answers.check_answer(dispatch, form, now=now, tz=settings.timezone)
                )
                files = problems.take(lambda: checked_files(uploads, settings))
                problems.raise_any()
                assert values is not None
                assert files is not None
                answer = answers.submit_answer(
                    session,
                    dispatch=dispatch,
                    values=values,
                    files=files,
                    store=settings.documents_dir,
                    now=now,
                    written=written,
                )
                submissions.remember(
                    session, dispatch=dispatch, key=key, form="svar", now=now, answer_id=answer.id
                )
                stored = answer.id, answer.version, True
            return stored
        except IntegrityError:
            discard_written(settings, written)
            # Another submission on the same link took this version number, or one with the
            # same key committed first (then the next attempt finds it): try again.
            if attempt == 4:
                raise
        except (OSError, OperationalError) as exc:
            discard_written(settings, written)
            # Never the message: a database error's holds the SQL and the form's values.
            log.error(
                "answer on dispatch not stored: %s %s",
                type(exc).__name__,
                getattr(exc, "strerror", None) or "",
            )
            raise StorageFailure from exc
        except BaseException:
            discard_written(settings, written)
            raise
    raise AssertionError("unreachable")


def checked_files(uploads: list[tuple[str, bytes]], settings: Settings) -> list[CheckedFile]:
    try:
        return check_files(uploads, upload_limits(settings))
    except UploadError as exc:
        raise InputError(exc.message, field="filer") from exc


def discard_written(settings: Settings, written: list[StoredFile]) -> None:
    if not written:
        return
    try:
        with session_scope(settings.database_url) as session:
            answers.discard_unreferenced(session, files=written)
    except (OSError, OperationalError) as exc:
        # Left as unreferenced files, which take room but are never shown to anyone.
        log.warning(
            "could not remove %d unstored files: %s %s",
            len(written),
            type(exc).__name__,
            getattr(exc, "strerror", None) or "",
        )


@router.post("/r/{token}/svar")
def post_svar(
    link: LinkDep,
    csrf_guard: CsrfDep,
    pages: PagesDep,
    trigger: TriggerDep,
    csrf: Annotated[str, Form()] = "",
    stallningstagande: Annotated[str, Form()] = "",
    att_sats: Annotated[list[str] | None, Form()] = None,
    sammanfattning: Annotated[str, Form()] = "",
    beslutsdatum: Annotated[str, Form()] = "",
    paragraf: Annotated[str, Form()] = "",
    gemensamt: Annotated[list[str] | None, Form()] = None,
    reservationer: Annotated[str, Form()] = "",
    sarskilda_uttalanden: Annotated[str, Form()] = "",
    kontaktperson: Annotated[str, Form()] = "",
    epost: Annotated[str, Form()] = "",
    nyckel: Annotated[str, Form()] = "",
    filer: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    csrf_guard.check(csrf)
    per_sats = {i: p for i, p in enumerate(att_sats or [], start=1)}
    form = answers.AnswerForm(
        position=stallningstagande or None,
        att_sats_positions=per_sats,
        summary=sammanfattning,
        decision_date=beslutsdatum,
        decision_paragraph=paragraf,
        joint_with=list(gemensamt or []),
        reservationer=reservationer,
        sarskilda_uttalanden=sarskilda_uttalanden,
        contact_name=kontaktperson,
        contact_email=epost,
    )
    values: dict[str, Any] = {
        "stallningstagande": stallningstagande,
        "att_sats": per_sats,
        "sammanfattning": sammanfattning,
        "beslutsdatum": beslutsdatum,
        "paragraf": paragraf,
        "gemensamt": list(gemensamt or []),
        "reservationer": reservationer,
        "sarskilda_uttalanden": sarskilda_uttalanden,
        "kontaktperson": kontaktperson,
        "epost": epost,
    }
    uploads = [(f.filename or "", f.file.read()) for f in (filer or []) if f.filename or f.size]
    try:
        answer_id, version, new = store_answer(
            link, form, uploads, dates.utcnow(), key=submissions.valid_key(nyckel)
        )
    except StorageFailure:
        # 503: the official did nothing wrong, and the form keeps what they wrote.
        failure = InputError(STORAGE_FAILURE_TEXT)
        try:
            return form_error(link, csrf_guard, pages, failure, "svar", values, status=503)
        except (OSError, OperationalError):
            return pages.error(503, "Svaret kunde inte sparas", STORAGE_FAILURE_TEXT)
    except InputError as exc:
        # The answer form's own ids, so the error summary links to the right field.
        rename = {"kontaktperson": "svar-kontaktperson", "epost": "svar-epost"}
        return form_error(link, csrf_guard, pages, exc, "svar", values, rename=rename)
    # Committed to the database and to disk: only now is the answer handed on (once).
    if trigger is not None and new:
        try:
            trigger(answer_id)
        except Exception as exc:  # the sweep will process it
            log.warning("answer %s stored; processing deferred: %s", answer_id, type(exc).__name__)
    return RedirectResponse(f"/r/{quote(link.token)}/kvitto/{version}", status_code=303)


@router.get("/r/{token}/kvitto/{version}", response_class=HTMLResponse)
def receipt(link: LinkDep, csrf_guard: CsrfDep, pages: PagesDep, version: RowId) -> HTMLResponse:
    with link.read(answers.PAGE_LOADS) as (session, dispatch):
        answer = answers.answer_version(session, dispatch=dispatch, version=version)
        if answer is None:
            raise StarletteHTTPException(status_code=404)
        # In one query: each dispatch of the round with its remissinstans was one each.
        names = {o.code: o.name for o in answers.other_dispatches(session, dispatch=dispatch)}
        names[dispatch.remissinstans.code] = dispatch.name
        unreadable = answers.unreadable_documents(answer.documents)
        context = view(
            session,
            dispatch,
            token=link.token,
            csrf=csrf_guard.token,
            settings=link.settings,
            now=dates.utcnow(),
        ) | {
            "kvitto": answer,
            "gemensamt_namn": [names.get(c, c) for c in answer.joint_with],
            "olasliga": unreadable,
            "olasliga_filer": language.count(len(unreadable), "fil", "filer"),
        }
        return csrf_guard.keep(pages.page("kvitto.html", context))


@router.get("/r/{token}/handlingar/{document_id}")
def get_handling(link: LinkDep, document_id: RowId) -> Response:
    with link.read() as (session, dispatch):
        doc = case_document(session, case_id=dispatch.round.case_id, document_id=document_id)
        if doc is None:
            raise StarletteHTTPException(status_code=404)
        return file_response(doc, link.settings.documents_dir)


@router.get("/r/{token}/gemensamt/{answer_id}/filer/{document_id}")
def get_joint_file(link: LinkDep, answer_id: RowId, document_id: RowId) -> Response:
    """A file of another's answer that names this remissinstans in a joint answer."""
    with link.read() as (session, dispatch):
        named = next(
            (c for c in joint.claims_naming(session, partner=dispatch) if c.answer.id == answer_id),
            None,
        )
        doc = None
        if named is not None:
            doc = next((d for d in named.answer.documents if d.id == document_id), None)
        if doc is None:
            raise StarletteHTTPException(status_code=404)
        return file_response(doc, link.settings.documents_dir)


@router.get("/r/{token}/filer/{document_id}")
def get_own_file(link: LinkDep, document_id: RowId) -> Response:
    with link.read() as (session, dispatch):
        doc = answer_document(session, dispatch_id=dispatch.id, document_id=document_id)
        if doc is None:
            raise StarletteHTTPException(status_code=404)
        return file_response(doc, link.settings.documents_dir)
