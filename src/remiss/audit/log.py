"""Writing and reading the audit log. An action is recorded in the same transaction as
what it did, so the log holds exactly what happened: nothing done goes unrecorded, and
nothing is recorded that was rolled back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.db.models import AuditEntry


def record(
    session: Session,
    *,
    user: str,
    action: str,
    now: dt.datetime,
    round_id: int | None = None,
    **detail: Any,
) -> AuditEntry:
    """Log `action` (a key of ACTION_LABELS) by `user`; `detail` must be JSON."""
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTION_LABELS")
    entry = AuditEntry(at=now, user_name=user, action=action, round_id=round_id, detail=detail)
    session.add(entry)
    session.flush()
    return entry


def entries_for_round(session: Session, *, round_id: int) -> list[AuditEntry]:
    """The round's log, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.round_id == round_id).order_by(AuditEntry.id)
        )
    )


# Every action the workspace records, as the case page shows it (Swedish, past tense).
# Add an action here before recording it.
ACTION_LABELS: dict[str, str] = {
    "draft_created": "skapade ärendet",
    "draft_saved": "ändrade ärendet",
    "round_started": "startade remissomgången",
    "anstand_granted": "beviljade anstånd",
    "anstand_refused": "avslog anstånd",
    "answer_reviewed": "granskade ett svar som kom med e-post",
    "answer_rejected": "granskade ett e-postmeddelande och bedömde att det inte är ett svar",
    "joint_confirmed": "bekräftade ett gemensamt svar",
    "joint_rejected": "avvisade ett gemensamt svar",
    "deadline_extended": "förlängde svarstiden för alla",
    "recipient_added": "lade till en remissinstans",
    "address_corrected": "rättade en e-postadress och skickade remissen igen",
    "report_compiled": "sammanställde remissvaren",
    "round_closed": "avslutade remissomgången",
    "decision_recorded": "registrerade beslutet",
    "decision_sent": "skickade beslutet till remissinstanserna",
    "archive_requested": "begärde ett arkivpaket för e-arkivet",
    "retention_applied": "gallrade enligt gallringsreglerna",
}
