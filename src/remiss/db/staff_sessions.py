"""Ended staff sessions: logging out revokes the session for every portal process.

A staff cookie is signed and carries its own expiry, so it stays valid by itself; the
session id it also carries is kept here once the session is logged out, and refused.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remiss.db.engine import savepoint
from remiss.db.models import EndedStaffSession


def end_session(
    session: Session, *, session_id: str, now: dt.datetime, expires_at: dt.datetime
) -> None:
    """Revoke the session (again is harmless), and forget those whose cookies have expired."""
    session.execute(delete(EndedStaffSession).where(EndedStaffSession.expires_at < now))
    if session.get(EndedStaffSession, session_id) is not None:
        return
    try:
        with savepoint(session):
            session.add(
                EndedStaffSession(session_id=session_id, ended_at=now, expires_at=expires_at)
            )
    except IntegrityError:
        pass  # logged out at the same moment in another request: ended all the same


def session_ended(session: Session, *, session_id: str) -> bool:
    return (
        session.scalar(
            select(EndedStaffSession.session_id).where(EndedStaffSession.session_id == session_id)
        )
        is not None
    )
