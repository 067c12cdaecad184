"""What the CLI does with mail outside the flows: check the backend, list what waits for a
person (unmatched mail, answers to review), and record a review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from remiss.answers.service import review_answer
from remiss.core import dates
from remiss.core.errors import NotFoundError
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Dispatch, RemissinstansRow
from remiss.inbox.poll import describe_unmatched
from remiss.mail import check_backend, load_mailbox
from remiss.rounds.service import find_round


def check_mail(settings: Settings) -> list[str]:
    return check_backend(settings)


def unmatched(settings: Settings, limit: int = 200) -> list[dict[str, str]]:
    return describe_unmatched(load_mailbox(settings).list_folder("unmatched", limit))


def answers_to_review(settings: Settings) -> list[dict[str, Any]]:
    """Every dispatch whose current answer came by e-mail and waits for a person."""
    rows = []
    with session_scope(settings.database_url) as session:
        answers = session.scalars(
            select(Answer).where(Answer.needs_review.is_(True)).order_by(Answer.id)
        )
        for answer in answers:
            dispatch = answer.dispatch
            if dispatch.current_answer is not answer:
                continue
            rows.append(
                {
                    "round": dispatch.round_id,
                    "diarienummer": dispatch.round.case.diarienummer,
                    "code": dispatch.remissinstans.code,
                    "name": dispatch.name,
                    "version": answer.version,
                    "received": dates.iso_local(answer.submitted_at, settings.timezone),
                    "sender": answer.contact_email or "",
                    "files": ", ".join(d.filename for d in answer.documents),
                }
            )
    return rows


def review(
    settings: Settings,
    round_ref: str,
    code: str,
    *,
    position: str,
    att_sats_positions: dict[int, str],
    summary: str | None,
    reviewer: str,
    now: dt.datetime,
) -> tuple[str, int]:
    """Record the reviewed position; the remissinstans's name and the new version."""
    with session_scope(settings.database_url) as session:
        rnd = find_round(session, round_ref)
        dispatch = session.scalars(
            select(Dispatch)
            .join(RemissinstansRow)
            .where(Dispatch.round_id == rnd.id, RemissinstansRow.code == code)
        ).first()
        if dispatch is None:
            raise NotFoundError(f"omgång {rnd.id} har ingen remissinstans med koden {code}")
        answer = review_answer(
            session,
            dispatch,
            position=position,
            att_sats_positions=att_sats_positions,
            summary=summary,
            reviewer=reviewer,
            now=now,
        )
        return dispatch.name, answer.version
