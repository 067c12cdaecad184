"""Submission keys: a form posted twice (a double click, a resend after a lost reply) is
stored once.

Each rendering of a form on the answer page carries a random key in a hidden field. The
post that stores something stores its key in the same transaction (`remember`); a post with
a key already stored (`find`) stores nothing and is shown what the first one did. The key is
the table's primary key, so of two posts at the same moment only one can commit.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.db.models import Answer, Dispatch, SubmissionKey

_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_key() -> str:
    return secrets.token_urlsafe(24)


def valid_key(text: str) -> str | None:
    """The posted key, or None for none or anything that is not one of ours (then the post
    is stored as any post without a key)."""
    return text if _KEY.fullmatch(text) else None


def find(
    session: Session, *, dispatch: Dispatch, key: str | None, form: str
) -> SubmissionKey | None:
    """The earlier post of this form on this link with this key, if any."""
    if key is None:
        return None
    found = session.get(SubmissionKey, key)
    if found is None or found.dispatch_id != dispatch.id or found.form != form:
        return None
    return found


def taken(session: Session, *, key: str | None) -> bool:
    """Whether the key is stored for anything at all (then it is not stored again)."""
    return key is not None and session.get(SubmissionKey, key) is not None


def remember(
    session: Session,
    *,
    dispatch: Dispatch,
    key: str | None,
    form: str,
    now: dt.datetime,
    answer_id: int | None = None,
) -> None:
    """Store the key with what its post stored (flushed: a concurrent post with the same key
    fails here, before anything commits)."""
    if key is None or taken(session, key=key):
        return
    session.add(
        SubmissionKey(
            key=key, dispatch_id=dispatch.id, form=form, answer_id=answer_id, created_at=now
        )
    )
    session.flush()


def answer_version(session: Session, submission: SubmissionKey) -> tuple[int, int] | None:
    """(answer id, version) stored by an answer form's earlier post."""
    if submission.answer_id is None:
        return None
    version = session.scalar(select(Answer.version).where(Answer.id == submission.answer_id))
    return None if version is None else (submission.answer_id, version)
