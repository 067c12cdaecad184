"""The site's FastAPI dependencies: settings, pages, the link's dispatch and CSRF.

`create_app` puts what they hand out on `app.state`. Transactions stay explicit (`Link.open`,
`session_scope`): a route commits before it redirects or hands an answer on, and an answer
is retried in a new transaction, which a session ending with the request could not do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, NoReturn, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.answers import service as answers
from remiss.core import dates
from remiss.core.settings import Settings
from remiss.db.engine import read_scope, session_scope
from remiss.db.models import Dispatch
from remiss.web.pages import NOT_FOUND_TEXT, Pages
from remiss.web.security import (
    FailureThrottle,
    csrf_cookie_name,
    csrf_form_token,
    csrf_valid,
    new_csrf_nonce,
    same_origin,
)
from remiss.web.trigger import Jobs

Trigger = Callable[[int], None]
ResponseT = TypeVar("ResponseT", bound=Response)

CSRF_EXPIRED_TEXT = "Formuläret har gått ut. Ladda om sidan och försök igen."
CROSS_SITE_TEXT = (
    "Formuläret skickades från en annan webbplats och har inte tagits emot. Öppna sidan "
    "här och skicka det därifrån."
)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def get_trigger(request: Request) -> Trigger | None:
    """What hands a stored answer on to its processing (None: the sweep will)."""
    trigger: Trigger | None = request.app.state.trigger
    return trigger


def get_throttle(request: Request) -> FailureThrottle:
    throttle: FailureThrottle = request.app.state.throttle
    return throttle


def get_jobs(request: Request) -> Jobs | None:
    """What hands the workspace's slow work on to Prefect (None: the sweep will do it)."""
    jobs: Jobs | None = request.app.state.jobs
    return jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[Jobs | None, Depends(get_jobs)]
PagesDep = Annotated[Pages, Depends(get_pages)]
TriggerDep = Annotated[Trigger | None, Depends(get_trigger)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "okänd"


@dataclass(frozen=True)
class Link:
    """The personal link in the path. Opened only once the request is otherwise valid, so
    that only lookups of the token count as failures for the throttle."""

    token: str
    client: str
    settings: Settings
    throttle: FailureThrottle

    @contextmanager
    def open(self, *, admitted: bool = False) -> Iterator[tuple[Session, Dispatch]]:
        """The link's dispatch in a transaction, or a 404 that looks the same for every
        failure (429 once the client has failed too often). `admitted`: the throttle has
        let this request look up the link already (a view that goes on to write)."""
        if not admitted:
            self._admit()
        with session_scope(self.settings.database_url) as session:
            yield session, self._find(session)

    @contextmanager
    def read(self, loads: Sequence[ORMOption] = ()) -> Iterator[tuple[Session, Dispatch]]:
        """As `open`, in a transaction that only reads (`read_scope`): on SQLite it takes
        no write lock, so views do not queue behind each other or behind a writer. The
        objects are detached when it ends: use them inside. `loads`: what to load with the
        dispatch (`answers.PAGE_LOADS` for a page)."""
        self._admit()
        with read_scope(self.settings.database_url) as session:
            yield session, self._find(session, loads)

    def _admit(self) -> None:
        if not self.throttle.admit(self.client):
            # Refused at once, whatever the token: no lookup, no pause holding a thread.
            self.refuse(429)

    def _find(self, session: Session, loads: Sequence[ORMOption] = ()) -> Dispatch:
        dispatch = answers.find_by_token(
            session,
            token=self.token,
            now=dates.utcnow(),
            valid_days_after_close=self.settings.link_valid_days,
            loads=loads,
        )
        if dispatch is None:
            self.throttle.fail(self.client)
            self.refuse(429 if self.throttle.blocked(self.client) else 404)
        return dispatch

    def refuse(self, status: int) -> NoReturn:
        """The same answer for every token: 404, or 429 with when to try again."""
        headers = {"Retry-After": self.throttle.retry_after} if status == 429 else None
        raise StarletteHTTPException(status_code=status, detail=NOT_FOUND_TEXT, headers=headers)


def get_link(
    request: Request,
    token: str,
    settings: SettingsDep,
    throttle: Annotated[FailureThrottle, Depends(get_throttle)],
) -> Link:
    return Link(token=token, client=client_of(request), settings=settings, throttle=throttle)


LinkDep = Annotated[Link, Depends(get_link)]


@dataclass(frozen=True)
class Csrf:
    """The request's CSRF protection: the cookie's nonce (or a new one for the page being
    shown) and the form token made from it with the secret key.

    Routes check it themselves, first thing: as a dependency the check would come before
    FastAPI's validation of the form, and change which error a broken form gets."""

    request: Request
    nonce: str
    key: bytes
    secure: bool
    origin: str

    @property
    def token(self) -> str:
        """The value of the form's hidden `csrf` field."""
        return csrf_form_token(self.nonce, self.key)

    @property
    def cookie_name(self) -> str:
        return csrf_cookie_name(self.secure)

    def valid(self, submitted: str) -> bool:
        return same_origin(self.request, self.origin) and csrf_valid(
            self.request.cookies.get(self.cookie_name), submitted, self.key
        )

    def check(self, submitted: str, detail: str = CSRF_EXPIRED_TEXT) -> None:
        if not same_origin(self.request, self.origin):
            raise StarletteHTTPException(status_code=403, detail=CROSS_SITE_TEXT)
        if not self.valid(submitted):
            raise StarletteHTTPException(status_code=403, detail=detail)

    def set_cookie(self, response: Response) -> None:
        response.set_cookie(
            self.cookie_name,
            self.nonce,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/",
        )

    def keep(self, response: ResponseT) -> ResponseT:
        """The response, setting the cookie unless the request already carries the nonce."""
        if self.request.cookies.get(self.cookie_name) != self.nonce:
            self.set_cookie(response)
        return response


def get_csrf(request: Request, settings: SettingsDep) -> Csrf:
    secure = settings.base_url.startswith("https://")
    scheme, _, rest = settings.base_url.partition("://")
    return Csrf(
        request=request,
        nonce=request.cookies.get(csrf_cookie_name(secure)) or new_csrf_nonce(),
        key=settings.secret_key(),
        secure=secure,
        origin=f"{scheme}://{rest.split('/', 1)[0]}",
    )


CsrfDep = Annotated[Csrf, Depends(get_csrf)]
