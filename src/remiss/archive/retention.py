"""Gallring: deleting what the settings allow, by kind and age, and logging what went.

What may go is listed in `remiss.core.settings.RETENTION_KINDS`; each kind is deleted only
once it is older than its number of days in `gallring`, and a kind not named is never
deleted (the default: nothing at all). The public records themselves — answers and their
files, the case's handlingar, the event log, the audit log, the decision, the record of
each message sent — are never deleted (`NEVER_DELETED`; naming one in the settings is an
error).

What is removed is written to the audit log (action `retention_applied`, user `gallring`)
in one transaction before the files go: a failure after the entry leaves files that the
next run finds and removes again, never a removal without its entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.archive.sip import ARCHIVE_DIR
from remiss.audit import log as audit
from remiss.core.settings import RETENTION_KINDS, Settings
from remiss.core.states import RoundState
from remiss.db.models import Round
from remiss.rounds.timeline import report_versions

USER = "gallring"


@dataclass(frozen=True)
class Candidate:
    kind: str
    path: Path
    round_id: int | None


def _age_days(path: Path, now: dt.datetime) -> float:
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return (now - modified).total_seconds() / 86400


def _outbox_copies(settings: Settings, days: int, now: dt.datetime) -> list[Candidate]:
    folder = settings.outbox_dir
    if not folder.is_dir():
        return []
    return [
        Candidate("utgaende_epostkopior", p, None)
        for p in sorted(folder.glob("*.eml"))
        if p.is_file() and _age_days(p, now) > days
    ]


def _preliminary_reports(
    session: Session, settings: Settings, days: int, now: dt.datetime
) -> list[Candidate]:
    """Working copies in closed rounds, never the round's newest version."""
    found = []
    closed = session.scalars(select(Round.id).where(Round.state == RoundState.CLOSED))
    for round_id in closed:
        versions = report_versions(settings.data_dir, round_id=round_id)
        for version in versions[1:]:  # newest first: the newest stays whatever it is
            if version.status != "Preliminär":
                continue
            if (now - version.compiled_at).total_seconds() / 86400 <= days:
                continue
            folder = next(iter(version.files.values())).parent
            found.append(Candidate("preliminara_sammanstallningar", folder, round_id))
    return found


def _packages(settings: Settings, days: int, now: dt.datetime) -> list[Candidate]:
    root = settings.data_dir / ARCHIVE_DIR
    found = []
    for folder in sorted(root.glob("omgang-*")) if root.is_dir() else []:
        packages = sorted(p for p in folder.glob("*.zip") if not p.name.startswith("."))
        round_id = int(folder.name.removeprefix("omgang-")) if folder.name[7:].isdigit() else None
        found += [
            Candidate("arkivpaket", p, round_id)
            for p in packages[:-1]  # the newest package of a round stays
            if _age_days(p, now) > days
        ]
    return found


def due(session: Session, settings: Settings, *, now: dt.datetime) -> list[Candidate]:
    """What the rules allow to be deleted now."""
    rules = settings.gallring
    found: list[Candidate] = []
    if "utgaende_epostkopior" in rules:
        found += _outbox_copies(settings, rules["utgaende_epostkopior"], now)
    if "preliminara_sammanstallningar" in rules:
        found += _preliminary_reports(
            session, settings, rules["preliminara_sammanstallningar"], now
        )
    if "arkivpaket" in rules:
        found += _packages(settings, rules["arkivpaket"], now)
    return found


def record(session: Session, settings: Settings, *, now: dt.datetime) -> list[Candidate]:
    """Log what is due in the audit log (one entry per kind and round), inside the caller's
    transaction; the files are removed by `remove` once it has committed."""
    found = due(session, settings, now=now)
    groups: dict[tuple[str, int | None], list[Candidate]] = {}
    for c in found:
        groups.setdefault((c.kind, c.round_id), []).append(c)
    for (kind, round_id), items in groups.items():
        audit.record(
            session,
            user=USER,
            action="retention_applied",
            now=now,
            round_id=round_id,
            slag=kind,
            beskrivning=RETENTION_KINDS[kind],
            efter_dagar=settings.gallring[kind],
            antal=len(items),
            borttaget=[_shown(c.path, settings) for c in items],
        )
    return found


def _shown(path: Path, settings: Settings) -> str:
    for base in (settings.data_dir, settings.outbox_dir):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


def remove(found: list[Candidate]) -> int:
    """Delete the files (a report version is its folder); how many items went."""
    import shutil

    for c in found:
        if c.path.is_dir():
            shutil.rmtree(c.path, ignore_errors=True)
        else:
            c.path.unlink(missing_ok=True)
    return len(found)


def apply(settings: Settings, *, now: dt.datetime) -> int:
    """Log and delete what is due; how many items went."""
    from remiss.db.engine import session_scope

    with session_scope(settings.database_url) as session:
        found = record(session, settings, now=now)
    return remove(found)
