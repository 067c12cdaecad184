"""Cases prepared in the workspace, for the tests of the deadline, preview and send steps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from remiss.cases import drafts
from remiss.core import dates
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.storage.uploads import UploadLimits, check_file
from tests.conftest import future_deadline
from tests.support.documents import pdf_bytes

USER = "karin.lindqvist"
SSO = {"X-Remote-User": USER}
TEATER = {"namn": "Teaterförbundet", "epost": "kansli@teaterforbundet.example", "typ": "extern"}
MOTION = pdf_bytes("Motion om fler scener för fri teater")
# Register entries: the codes of tests/web/conftest.py RECIPIENTS, and kulturnamnden.
ENTRIES = [
    ("socialnamnden", "Socialnämnden", "namnd", ["facknamnder", "namnder"]),
    ("servicenamnden", "Servicenämnden", "namnd", ["facknamnder", "namnder"]),
    ("kulturnamnden", "Kulturnämnden", "namnd", ["facknamnder", "namnder"]),
    ("bromma", "Bromma stadsdelsnämnd", "stadsdelsnamnd", ["stadsdelsnamnder", "namnder"]),
    ("farsta", "Farsta stadsdelsnämnd", "stadsdelsnamnd", ["stadsdelsnamnder", "namnder"]),
    ("kpr", "Kommunala pensionärsrådet", "rad", ["rad"]),
]


def working_days_ahead(today: dt.date, count: int) -> dt.date:
    return dates.add_working_days(today, count)


def write_register(path: Path, meetings: dict[str, list[dt.date]]) -> Path:
    """A small register whose nämnder meet on the given days (relative to the real today)."""
    doc: dict[str, Any] = {
        "grupper": {
            "facknamnder": "Alla facknämnder",
            "stadsdelsnamnder": "Alla stadsdelsnämnder",
            "namnder": "Alla nämnder",
            "rad": "Alla råd",
        },
        "remissinstanser": [
            {
                "kod": code,
                "namn": name,
                "typ": kind,
                "funktionsbrevlada": f"registrator.{code}@stockholm.example",
                "grupper": groups,
                **(
                    {"sammantraden": [d.isoformat() for d in meetings[code]]}
                    if code in meetings
                    else {}
                ),
            }
            for code, name, kind, groups in ENTRIES
        ],
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def case_data(deadline: dt.date | None = None, **changes: Any) -> dict[str, Any]:
    """A complete case (a motion with an outside organisation among its recipients)."""
    data: dict[str, Any] = {
        "diarienummer": "KS 2026/1201",
        "rubrik": "Motion om fler scener för fri teater",
        "arendetyp": "motion",
        "motionarer": [{"namn": "Anna Andersson", "parti": "S"}],
        "vackt": "2026-10-19",
        "att_satser": [
            "att staden inventerar lokaler som kan bli scener",
            "att kulturnämnden får i uppdrag att ta fram en plan",
        ],
        "handlaggare": {"namn": "Karin Lindqvist", "epost": "karin.lindqvist@stockholm.example"},
        "missiv": "Vi önskar särskilt era synpunkter på lokalfrågan.",
        "remissinstanser": ["kulturnamnden", "socialnamnden", "bromma", TEATER],
        "svar_senast": (deadline or future_deadline()).isoformat(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def new_draft(settings: Settings, data: dict[str, Any], *, with_motion: bool = True) -> int:
    """A draft as the new-case and recipients pages leave it, with the motion uploaded."""
    now = dates.utcnow()
    with session_scope(settings.database_url) as session:
        draft = drafts.create_draft(session, user=USER, now=now)
        drafts.save_draft(session, draft=draft, changes=data, user=USER, now=now, what="test")
        if with_motion:
            drafts.add_document(
                session,
                draft=draft,
                checked=check_file("Motion om fria scener.pdf", MOTION, UploadLimits()),
                title="Motionen",
                store=settings.documents_dir,
                user=USER,
                now=now,
            )
        return draft.id
