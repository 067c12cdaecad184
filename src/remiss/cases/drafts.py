"""Cases prepared in the workspace: stored as CaseDraft rows, checked as case files are.

`CaseDraft.data` uses the case file's keys (see docs/reference/case-file.md):

    diarienummer, rubrik, arendetyp, motionarer: [{namn, parti}], vackt: "ÅÅÅÅ-MM-DD",
    att_satser: [str], handlaggare: {namn, epost}, missiv,
    remissinstanser: [code | group | {namn, epost, typ}], svar_senast: "ÅÅÅÅ-MM-DD"

Only the handlingar differ: a draft's are Document rows with draft_id, not file paths.
The data is saved as typed (a draft may be incomplete); `case_from_draft` is the check
that a complete case passes, the same one a case file passes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.audit.log import record
from remiss.cases.casefile import (
    OPTIONAL,
    REQUIRED,
    VALIDATORS,
    CaseFile,
    Handling,
    build_case,
)
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.states import DraftState
from remiss.core.validation import check_keys
from remiss.db.models import CaseDraft, Document
from remiss.register.instances import Register
from remiss.storage.documents import document_row, store_bytes
from remiss.storage.uploads import CheckedFile

DRAFT_KEYS = (REQUIRED | OPTIONAL) - {"handlingar"}


def draft_source(draft: CaseDraft) -> str:
    return f"ärendeutkast {draft.id}"


def case_from_draft(draft: CaseDraft, *, register: Register) -> CaseFile:
    """The draft as a checked case, ready for `plan_round`.

    Raises InputError whose `field` is the case-file key of the form field
    (`att_satser[2]`, `handlaggare.epost`, `remissinstanser[3].epost`)."""
    data = dict(draft.data or {})
    source = draft_source(draft)
    check_keys(data, source=source, prefix="", required=set(), optional=DRAFT_KEYS)
    for name in VALIDATORS:
        VALIDATORS[name](data, source=source)
    case = build_case(
        data,
        source=Path("arendeutkast") / str(draft.id),
        sha256=_fingerprint(data, draft.documents),
        handlingar=tuple(
            Handling(
                path=Path(doc.storage_path),
                title=doc.title,
                content_type=doc.content_type,
                filename=doc.filename,
            )
            for doc in sorted(draft.documents, key=lambda d: d.position)
        ),
    )
    check_recipients(data, register=register, source=source)
    return case


def check_recipients(data: dict[str, Any], *, register: Register, source: str) -> None:
    """Each code or group is in the register; an outside organisation is not (by address)."""
    by_email = {inst.email.lower(): inst for inst in register.instanser.values()}
    entries = data.get("remissinstanser") or []
    if not isinstance(entries, list):
        return  # reported by check_remissinstanser
    for i, item in enumerate(entries):
        if isinstance(item, str):
            register.resolve([item], source=source, field=f"remissinstanser[{i}]")
        elif isinstance(item, dict) and isinstance(item.get("epost"), str):
            known = by_email.get(item["epost"].strip().lower())
            if known is not None:
                raise InputError(
                    f"adressen tillhör {known.name} i registret; välj den därifrån i stället",
                    source=source,
                    field=f"remissinstanser[{i}].epost",
                    value=item["epost"],
                )


def _fingerprint(data: dict[str, Any], documents: list[Document]) -> str:
    """What the draft held when started, as the case file's sha256 records a file's bytes."""
    canonical = json.dumps(
        {"data": data, "handlingar": [d.sha256 for d in documents]},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- Storing drafts -------------------------------------------------------------------------


def create_draft(
    session: Session, *, user: str, now: dt.datetime, data: dict[str, Any] | None = None
) -> CaseDraft:
    draft = CaseDraft(
        state=DraftState.DRAFT,
        data=dict(data or {}),
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    record(session, user=user, action="draft_created", now=now, draft_id=draft.id)
    return draft


def get_draft(session: Session, *, draft_id: int) -> CaseDraft:
    draft = session.get(CaseDraft, draft_id)
    if draft is None:
        raise NotFoundError(f"Det finns inget ärendeutkast {draft_id}.")
    return draft


def editable_draft(session: Session, *, draft_id: int) -> CaseDraft:
    """A draft not yet started: once started, the round holds the case, not the draft."""
    draft = get_draft(session, draft_id=draft_id)
    if draft.state != DraftState.DRAFT:
        raise ConflictError("Ärendet är redan skickat på remiss och kan inte ändras här.")
    return draft


def open_drafts(session: Session) -> list[CaseDraft]:
    """Drafts not yet started, the latest changed first."""
    return list(
        session.scalars(
            select(CaseDraft)
            .where(CaseDraft.state == DraftState.DRAFT)
            .order_by(CaseDraft.updated_at.desc(), CaseDraft.id.desc())
        )
    )


def save_draft(
    session: Session,
    *,
    draft: CaseDraft,
    changes: dict[str, Any],
    user: str,
    now: dt.datetime,
    what: str,
) -> CaseDraft:
    """Store `changes` (case-file keys) into the draft; `what` says what was done, for the log."""
    unknown = set(changes) - DRAFT_KEYS
    if unknown:
        raise ValueError(f"not draft keys: {sorted(unknown)}")
    data = dict(draft.data or {})
    for key, value in changes.items():
        if value in (None, "", []):
            data.pop(key, None)
        else:
            data[key] = value
    draft.data = data  # a new dict, so the JSON column is written
    draft.updated_at = now
    record(session, user=user, action="draft_saved", now=now, draft_id=draft.id, change=what)
    session.flush()
    return draft


def add_document(
    session: Session,
    *,
    draft: CaseDraft,
    checked: CheckedFile,
    title: str,
    store: Path,
    user: str,
    now: dt.datetime,
) -> Document:
    """Store a checked upload as one of the draft's handlingar."""
    stored = store_bytes(checked.data, store)
    position = max((d.position for d in draft.documents), default=-1) + 1
    doc = document_row(
        stored,
        position=position,
        title=title,
        filename=checked.filename,
        content_type=checked.content_type,
        now=now,
    )
    doc.draft_id = draft.id
    session.add(doc)
    _handlings_changed(session, draft=draft, doc=doc, change="handling_tillagd", user=user, now=now)
    return doc


def remove_document(
    session: Session, *, draft: CaseDraft, document_id: int, user: str, now: dt.datetime
) -> Document:
    """Take a handling off the draft. The row and file stay (nothing is deleted), unlinked."""
    doc = session.get(Document, document_id)
    if doc is None or doc.draft_id != draft.id:
        raise NotFoundError("Handlingen finns inte i det här ärendet.")
    doc.draft_id = None
    _handlings_changed(
        session, draft=draft, doc=doc, change="handling_borttagen", user=user, now=now
    )
    return doc


def _handlings_changed(
    session: Session, *, draft: CaseDraft, doc: Document, change: str, user: str, now: dt.datetime
) -> None:
    """The draft's handlingar after `doc` was added or taken off, and the audit entry."""
    draft.updated_at = now
    session.flush()
    session.refresh(draft, ["documents"])
    record(
        session,
        user=user,
        action="draft_saved",
        now=now,
        draft_id=draft.id,
        change=change,
        document_id=doc.id,
        filename=doc.filename,
    )
