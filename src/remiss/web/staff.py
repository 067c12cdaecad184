"""Who is logged in to the workspace at /admin, and what they may do.

A user comes from the single-sign-on proxy's header (believed only from `trusted_proxies`)
or from the password login's signed cookie. Their role comes from `admin_roles`: a user
matching no entry may not see anything (403); a `lasare` may read, not act."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from remiss.core.settings import Settings
from remiss.core.states import Role
from remiss.db.engine import session_scope
from remiss.db.staff_sessions import session_ended
from remiss.web.deps import SettingsDep
from remiss.web.security import ADMIN_COOKIE, unsign, via_trusted_proxy

PASSWORD_USER = "personal"  # noqa: S105 (the shared login's user name)
NO_ROLE_TEXT = (
    "Ni är inloggad men har ingen roll i remisstjänsten. Be den som förvaltar tjänsten "
    "att ge er rollen handläggare eller läsare."
)
READ_ONLY_TEXT = "Ni har rollen läsare och kan se allt men inte ändra något."


@dataclass(frozen=True)
class Staff:
    """A logged-in member of staff; `role` None: logged in, but allowed nothing."""

    user: str
    role: Role | None

    @property
    def may_act(self) -> bool:
        return self.role == Role.HANDLAGGARE


def role_for(user: str, groups: tuple[str, ...], roles: dict[str, str]) -> Role | None:
    """The user's role: their own entry first, then the highest of their groups'.
    No entries at all: everyone logged in is a handläggare."""
    if not roles:
        return Role.HANDLAGGARE
    if user in roles:
        return Role(roles[user])
    found = {Role(roles[f"grupp:{g}"]) for g in groups if f"grupp:{g}" in roles}
    if Role.HANDLAGGARE in found:
        return Role.HANDLAGGARE
    return Role.LASARE if found else None


@dataclass(frozen=True)
class PasswordSession:
    """What the signed cookie of a password login holds: who, until when, which login."""

    user: str
    expires: int
    session_id: str


def password_session(request: Request, settings: Settings) -> PasswordSession | None:
    """The request's unexpired, correctly signed login cookie (revoked or not), or None."""
    value = unsign(request.cookies.get(ADMIN_COOKIE), settings.secret_key())
    if not value or value.count("|") < 2:
        return None
    user, expires, session_id = value.rsplit("|", 2)
    if not expires.isdigit() or int(expires) <= time.time() or not session_id:
        return None
    return PasswordSession(user, int(expires), session_id)


def _sso_user(request: Request, settings: Settings) -> tuple[str, tuple[str, ...]] | None:
    if not settings.admin_sso_header or not via_trusted_proxy(request):
        return None
    user = request.headers.get(settings.admin_sso_header, "").strip()
    if not user:
        return None
    groups: tuple[str, ...] = ()
    if settings.admin_group_header:
        raw = request.headers.get(settings.admin_group_header, "")
        groups = tuple(g.strip() for g in raw.split(",") if g.strip())
    return user, groups


def staff_user(request: Request, settings: SettingsDep) -> Staff | None:
    """Who is logged in, or None."""
    sso = _sso_user(request, settings)
    if sso is not None:
        user, groups = sso
        return Staff(user, role_for(user, groups, settings.admin_roles))
    login = password_session(request, settings)
    if login is None:
        return None
    with session_scope(settings.database_url) as session:
        if session_ended(session, session_id=login.session_id):
            return None
    return Staff(login.user, role_for(login.user, (), settings.admin_roles))


# Not a dependency that refuses by itself: a route checks it first thing, after FastAPI has
# validated the path (an id no row can have is a 404 whether or not anyone is logged in).
StaffDep = Annotated[Staff | None, Depends(staff_user)]


def signed_in(staff: Staff | None) -> Staff:
    """The staff member with a role, a redirect to the login form, or a 403 page."""
    if staff is None:
        raise StarletteHTTPException(status_code=303, headers={"Location": "/admin/login"})
    if staff.role is None:
        raise StarletteHTTPException(status_code=403, detail=NO_ROLE_TEXT)
    return staff


def acting(staff: Staff | None) -> Staff:
    """The staff member if they may change things (a handläggare), else 403."""
    member = signed_in(staff)
    if not member.may_act:
        raise StarletteHTTPException(status_code=403, detail=READ_ONLY_TEXT)
    return member
