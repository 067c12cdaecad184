"""The answer page: what an official sees and does through the personal link."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, joinedload, selectinload
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.answers import service as answers
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.rendering import environment
from remiss.core.settings import Settings
from remiss.core.terms import POSITION_LABELS, PROGRESS_LABELS, STALLNINGSTAGANDEN
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Dispatch, Document
from remiss.rounds.status import progress
from remiss.storage.documents import StoredFile, read_verified
from remiss.storage.uploads import UploadError, check_files, content_disposition, upload_limits
from remiss.web import admin
from remiss.web.security import (
    CSRF_COOKIE,
    BodyLimit,
    FailureThrottle,
    RowId,
    csrf_valid,
    new_csrf_token,
    security_headers,
)

log = logging.getLogger("remiss.web")

Trigger = Callable[[int], None]

NOT_FOUND_TEXT = (
    "Länken fungerar inte. Den kan vara felskriven, gammal eller ha ersatts av en ny. "
    "Kontakta handläggaren som skickade remissen."
)

STORAGE_FAILURE_TEXT = (
    "Svaret kunde inte sparas på grund av ett tekniskt fel hos oss. Ingenting av det ni "
    "skickade nu har sparats, och ett svar som ni har lämnat tidigare gäller fortfarande. "
    "Försök igen om en stund eller kontakta handläggaren."
)


class StorageFailure(Exception):
    """The answer could not be written (disk or database); nothing of it was kept."""


def create_app(settings: Settings, *, trigger: Trigger | None = None) -> FastAPI:
    """The web application. `trigger(answer_id)` hands a stored answer to Prefect."""
    app = FastAPI(title="Remiss", docs_url=None, redoc_url=None, openapi_url=None)
    env = environment(settings.templates_dir)
    env.globals["avsandare"] = settings.sender_name
    throttle = FailureThrottle()
    limits = upload_limits(settings)
    app.state.settings = settings
    app.state.throttle = throttle
    app.middleware("http")(security_headers)
    app.add_middleware(BodyLimit, max_bytes=lambda: limits.max_total_bytes + 1024 * 1024)
    app.mount(
        "/static", StaticFiles(directory=settings.templates_dir / "web" / "static"), name="static"
    )

    def page(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = env.get_template(f"web/{name}").render(context)
        return HTMLResponse(html, status_code=status)

    def error_page(status: int, title: str, text: str) -> HTMLResponse:
        return page("fel.html", {"rubrik": title, "text": text}, status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if 300 <= exc.status_code < 400 and exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        if exc.status_code == 404:
            return error_page(404, "Sidan finns inte", NOT_FOUND_TEXT)
        if exc.status_code == 429:
            return error_page(429, "För många försök", NOT_FOUND_TEXT)
        if exc.status_code == 405:
            return error_page(405, "Det går inte att göra så här", "Gå tillbaka och försök igen.")
        if exc.status_code == 400:
            # Only the framework raises a 400 (a body it cannot parse), with an English detail.
            return unreadable_form()
        return error_page(exc.status_code, "Något gick fel", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Response:
        if all(error["loc"][0] == "path" for error in exc.errors()):
            # An id in the path that no row can have ("abc", 0, 2**64): a page that is not there.
            return error_page(404, "Sidan finns inte", NOT_FOUND_TEXT)
        return unreadable_form()

    def unreadable_form() -> HTMLResponse:
        return error_page(
            400,
            "Formuläret kunde inte läsas",
            "Det som skickades var ofullständigt. Gå tillbaka, ladda om sidan och försök igen.",
        )

    @app.exception_handler(Exception)
    async def server_error(_request: Request, exc: Exception) -> Response:
        log.error("unexpected error: %s", type(exc).__name__)
        return error_page(
            500,
            "Något gick fel hos oss",
            "Inget av det ni skickade har sparats. Försök igen om en stund eller kontakta "
            "handläggaren.",
        )

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "okänd"

    @contextmanager
    def dispatch_for(request: Request, token: str) -> Iterator[tuple[Session, Dispatch]]:
        """Open the link's dispatch, or raise a 404 that looks the same for every failure."""
        client = client_of(request)
        if throttle.blocked(client):
            # Slowed down, whatever the token: guessing links gets expensive.
            time.sleep(throttle.delay)
        with session_scope(settings.database_url) as session:
            dispatch = answers.find_by_token(
                session,
                token,
                now=dates.utcnow(),
                valid_days_after_close=settings.link_valid_days,
            )
            if dispatch is None:
                throttle.fail(client)
                status = 429 if throttle.blocked(client) else 404
                raise StarletteHTTPException(status_code=status, detail=NOT_FOUND_TEXT)
            yield session, dispatch

    def view(
        session: Session,
        dispatch: Dispatch,
        token: str,
        csrf: str,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        form: str | None = None,
        notice: str | None = None,
    ) -> dict[str, Any]:
        case = dispatch.round.case
        # The round's other dispatches with their answers in two queries: loaded one by one,
        # a round of 300 cost the page some 600 queries.
        others = list(
            session.scalars(
                select(Dispatch)
                .where(Dispatch.round_id == dispatch.round_id, Dispatch.id != dispatch.id)
                .options(selectinload(Dispatch.answers), joinedload(Dispatch.remissinstans))
                .order_by(Dispatch.id)
            )
        )
        code = dispatch.remissinstans.code
        joint_answer = next(
            (
                d.current_answer
                for d in others
                if d.current_answer and code in d.current_answer.joint_with
            ),
            None,
        )
        now = dates.utcnow()
        return {
            "token": token,
            "csrf": csrf,
            "arende": case,
            "instans": dispatch,
            "motionarer": [f"{m.namn} ({m.parti})" for m in case.motionarer],
            "att_satser": case.att_satser,
            "handlingar": case.documents,
            "svar": list(reversed(dispatch.answers)),
            "aktuellt_svar": dispatch.current_answer,
            "anstand": dispatch.anstand,
            "vantande_anstand": next((a for a in dispatch.anstand if a.state == "requested"), None),
            "ovriga": others,
            "gemensamt_fran": [
                d.name for d in others if d.current_answer and code in d.current_answer.joint_with
            ],
            "stallningstaganden": STALLNINGSTAGANDEN,
            "positionsnamn": POSITION_LABELS,
            "lage": PROGRESS_LABELS[progress(dispatch, joint_answer=joint_answer)],
            "stangd": answers.is_closed(dispatch),
            "svarstid_ute": joint_answer is None
            and now > dates.deadline_end(dispatch.deadline, settings.timezone),
            "errors": errors or {},
            "values": values or {},
            "form": form,
            "notice": notice,
        }

    def with_csrf_cookie(request: Request, response: HTMLResponse, csrf: str) -> HTMLResponse:
        if request.cookies.get(CSRF_COOKIE) != csrf:
            response.set_cookie(
                CSRF_COOKIE,
                csrf,
                httponly=True,
                samesite="strict",
                secure=settings.base_url.startswith("https://"),
                path="/",
            )
        return response

    def csrf_for(request: Request) -> str:
        return request.cookies.get(CSRF_COOKIE) or new_csrf_token()

    notices = {
        "kvittens": "Tack! Mottagandet av remissen är bekräftat.",
        "anstand": "Er begäran om anstånd är skickad. Ni får beslutet med e-post.",
        "avstar": "Ni har meddelat att ni avstår från att yttra er. Tack för beskedet.",
    }

    @app.get("/r/{token}", response_class=HTMLResponse)
    def remiss_page(request: Request, token: str, klart: str | None = None) -> HTMLResponse:
        csrf = csrf_for(request)
        with dispatch_for(request, token) as (session, dispatch):
            answers.record_opening(session, dispatch, now=dates.utcnow())
            context = view(session, dispatch, token, csrf, notice=notices.get(klart or ""))
            response = page("remiss.html", context)
        return with_csrf_cookie(request, response, csrf)

    def form_error(
        request: Request,
        token: str,
        exc: InputError,
        form: str,
        values: dict[str, Any],
        status: int = 400,
    ) -> HTMLResponse:
        csrf = csrf_for(request)
        with dispatch_for(request, token) as (session, dispatch):
            errors = {exc.field or "form": exc.message}
            context = view(session, dispatch, token, csrf, errors=errors, values=values, form=form)
            return with_csrf_cookie(request, page("remiss.html", context, status), csrf)

    def check_csrf(request: Request, submitted: str) -> None:
        if not csrf_valid(request, submitted):
            raise StarletteHTTPException(
                status_code=403,
                detail="Formuläret har gått ut. Ladda om sidan och försök igen.",
            )

    def done(token: str, what: str) -> RedirectResponse:
        return RedirectResponse(f"/r/{quote(token)}?klart={what}#lage", status_code=303)

    @app.post("/r/{token}/kvittens")
    def post_kvittens(
        request: Request,
        token: str,
        csrf: Annotated[str, Form()] = "",
        diarienummer: Annotated[str, Form()] = "",
        kontaktperson: Annotated[str, Form()] = "",
        epost: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf)
        values = {"diarienummer": diarienummer, "kontaktperson": kontaktperson, "epost": epost}
        try:
            with dispatch_for(request, token) as (session, dispatch):
                answers.confirm_receipt(
                    session,
                    dispatch,
                    their_diarienummer=diarienummer,
                    contact_name=kontaktperson,
                    contact_email=epost,
                    now=dates.utcnow(),
                )
        except InputError as exc:
            return form_error(request, token, exc, "kvittens", values)
        return done(token, "kvittens")

    @app.post("/r/{token}/anstand")
    def post_anstand(
        request: Request,
        token: str,
        csrf: Annotated[str, Form()] = "",
        datum: Annotated[str, Form()] = "",
        skal: Annotated[str, Form()] = "",
        epost: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf)
        values = {"datum": datum, "skal": skal, "epost_anstand": epost}
        try:
            with dispatch_for(request, token) as (session, dispatch):
                answers.request_anstand(
                    session,
                    dispatch,
                    new_date=datum,
                    reason=skal,
                    requested_by=epost,
                    now=dates.utcnow(),
                )
        except InputError as exc:
            if exc.field == "epost":
                exc.field = "epost_anstand"
            return form_error(request, token, exc, "anstand", values)
        return done(token, "anstand")

    @app.post("/r/{token}/avstar")
    def post_avstar(
        request: Request,
        token: str,
        csrf: Annotated[str, Form()] = "",
        skal: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf)
        try:
            with dispatch_for(request, token) as (session, dispatch):
                answers.decline(
                    session, dispatch, reason=skal, now=dates.utcnow(), tz=settings.timezone
                )
        except InputError as exc:
            exc.field = "skal_avstar" if exc.field == "skal" else exc.field
            return form_error(request, token, exc, "avstar", {"skal_avstar": skal})
        return done(token, "avstar")

    def store_answer(
        request: Request,
        token: str,
        form: answers.AnswerForm,
        uploads: list[tuple[str, bytes]],
        now: dt.datetime,
    ) -> tuple[int, int]:
        """Check and store one answer version; returns (answer id, version) once committed.

        Raises `StorageFailure` when the files or the database cannot be written (a full or
        read-only disk, a database away): then nothing of this answer is kept.
        """
        for attempt in range(5):
            written: list[StoredFile] = []
            try:
                with dispatch_for(request, token) as (session, dispatch):
                    values = answers.check_answer(dispatch, form, now=now, tz=settings.timezone)
                    try:
                        files = check_files(uploads, limits)
                    except UploadError as exc:
                        raise InputError(exc.message, field="filer") from exc
                    answer = answers.submit_answer(
                        session,
                        dispatch,
                        values,
                        files,
                        store=settings.documents_dir,
                        now=now,
                        written=written,
                    )
                    stored = answer.id, answer.version
                return stored
            except IntegrityError:
                discard_written(written)
                # Another submission on the same link took this version number; take the next.
                if attempt == 4:
                    raise
            except (OSError, OperationalError) as exc:
                discard_written(written)
                log.error("answer on dispatch not stored: %s: %s", type(exc).__name__, exc)
                raise StorageFailure from exc
            except BaseException:
                discard_written(written)
                raise
        raise AssertionError("unreachable")

    def discard_written(written: list[StoredFile]) -> None:
        if not written:
            return
        try:
            with session_scope(settings.database_url) as session:
                answers.discard_unreferenced(session, written)
        except (OSError, OperationalError) as exc:
            # Left as unreferenced files, which take room but are never shown to anyone.
            log.warning("could not remove %d unstored files: %s", len(written), exc)

    @app.post("/r/{token}/svar")
    def post_svar(
        request: Request,
        token: str,
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
        filer: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        check_csrf(request, csrf)
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
        now = dates.utcnow()
        try:
            answer_id, version = store_answer(request, token, form, uploads, now)
        except StorageFailure:
            # 503: the official did nothing wrong, and the form keeps what they wrote.
            try:
                return form_error(
                    request, token, InputError(STORAGE_FAILURE_TEXT), "svar", values, status=503
                )
            except (OSError, OperationalError):
                return error_page(503, "Svaret kunde inte sparas", STORAGE_FAILURE_TEXT)
        except InputError as exc:
            # The answer form's own ids, so the error summary links to the right field.
            exc.field = {"kontaktperson": "svar-kontaktperson", "epost": "svar-epost"}.get(
                exc.field or "", exc.field
            )
            return form_error(request, token, exc, "svar", values)
        # Committed to the database and to disk: only now is the answer handed on.
        if trigger is not None:
            try:
                trigger(answer_id)
            except Exception as exc:  # the sweep will process it
                log.warning(
                    "answer %s stored; processing deferred: %s", answer_id, type(exc).__name__
                )
        return RedirectResponse(f"/r/{quote(token)}/kvitto/{version}", status_code=303)

    @app.get("/r/{token}/kvitto/{version}", response_class=HTMLResponse)
    def receipt(request: Request, token: str, version: RowId) -> HTMLResponse:
        csrf = csrf_for(request)
        with dispatch_for(request, token) as (session, dispatch):
            answer = session.scalars(
                select(Answer).where(Answer.dispatch_id == dispatch.id, Answer.version == version)
            ).first()
            if answer is None:
                raise StarletteHTTPException(status_code=404)
            names = {d.remissinstans.code: d.name for d in dispatch.round.dispatches}
            context = view(session, dispatch, token, csrf) | {
                "kvitto": answer,
                "gemensamt_namn": [names.get(c, c) for c in answer.joint_with],
            }
            return with_csrf_cookie(request, page("kvitto.html", context), csrf)

    def download(doc: Document) -> Response:
        data = read_verified(Path(doc.storage_path), doc.sha256)
        return Response(
            data,
            media_type=doc.content_type,
            headers={"Content-Disposition": content_disposition(doc.filename)},
        )

    @app.get("/r/{token}/handlingar/{document_id}")
    def get_handling(request: Request, token: str, document_id: RowId) -> Response:
        with dispatch_for(request, token) as (session, dispatch):
            doc = session.get(Document, document_id)
            if doc is None or doc.case_id != dispatch.round.case_id:
                raise StarletteHTTPException(status_code=404)
            return download(doc)

    @app.get("/r/{token}/filer/{document_id}")
    def get_own_file(request: Request, token: str, document_id: RowId) -> Response:
        with dispatch_for(request, token) as (session, dispatch):
            doc = session.get(Document, document_id)
            own = {a.id for a in dispatch.answers}
            if doc is None or doc.answer_id not in own:
                raise StarletteHTTPException(status_code=404)
            return download(doc)

    @app.get("/", response_class=HTMLResponse)
    def start() -> HTMLResponse:
        return page(
            "fel.html",
            {
                "rubrik": "Remisser",
                "text": "Använd den personliga länken i e-postmeddelandet med remissen.",
            },
        )

    app.include_router(admin.router(settings, env, download))
    return app
