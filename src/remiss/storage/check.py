"""`remiss check`: is the record whole? The database, every document's file and checksum,
files without rows, what crashes left, events without their dispatch.

Read-only unless asked to repair, and then only what is safe: stale temp files removed,
unreferenced files past the grace period moved to quarantine (`remiss.storage.recovery`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from remiss.core.language import count, sentence
from remiss.core.settings import Settings
from remiss.db.engine import read_scope
from remiss.db.models import Dispatch, Document, Event
from remiss.storage.documents import document_path
from remiss.storage.recovery import Debris, Recovery, clear, find_debris, quarantine_dir
from remiss.storage.uploads import format_size

_CHUNK = 1024 * 1024


@dataclass
class CheckReport:
    settings: Settings
    database_problem: str | None = None
    database_note: str = ""
    documents: int = 0
    missing: list[tuple[int, str]] = field(default_factory=list)
    damaged: list[tuple[int, str]] = field(default_factory=list)
    debris: Debris = field(default_factory=Debris)
    events_without_dispatch: int = 0
    repaired: Recovery | None = None

    @property
    def problems(self) -> list[str]:
        """What is wrong, one Swedish sentence each; empty when all is well."""
        found: list[str] = []
        if self.database_problem:
            found.append(f"Databasen är skadad: {self.database_problem}")
        for doc_id, where in self.missing:
            found.append(f"Dokument {doc_id}: filen saknas ({where}).")
        for doc_id, where in self.damaged:
            found.append(f"Dokument {doc_id}: filen stämmer inte med sin kontrollsumma ({where}).")
        if self.debris.temp:
            found.append(
                f"{sentence(count(len(self.debris.temp), 'tillfällig fil', 'tillfälliga filer'))}"
                f" ({format_size(self.debris.temp_bytes)}) har lämnats kvar efter avbrutna "
                "skrivningar."
            )
        if self.debris.orphans:
            found.append(
                f"{sentence(count(len(self.debris.orphans), 'fil', 'filer'))} "
                f"({format_size(self.debris.orphan_bytes)}) i dokumentmappen hör inte till "
                "något dokument."
            )
        if self.events_without_dispatch:
            found.append(
                f"{sentence(count(self.events_without_dispatch, 'händelse', 'händelser'))} "
                "hör till ett utskick som inte finns."
            )
        return found

    def lines(self) -> list[str]:
        """The whole report, as the command prints it."""
        grace = count(self.settings.storage_grace_minutes, "minut", "minuter")
        out = [f"Kontroll av datamappen {self.settings.data_dir}"]
        out.append(
            f"Databasen: {'fel hittades' if self.database_problem else 'hel'}"
            f"{f' ({self.database_note})' if self.database_note else ''}."
        )
        whole = self.documents - len(self.missing) - len(self.damaged)
        out.append(
            f"Dokument: {whole} av {self.documents} filer finns och stämmer med sina "
            "kontrollsummor."
        )
        fresh = len(self.debris.fresh_temp) + len(self.debris.fresh_orphans)
        if fresh:
            out.append(
                f"{sentence(count(fresh, 'fil', 'filer'))} utan dokumentrad är yngre än "
                f"{grace} och lämnas (en uppladdning kan pågå)."
            )
        if self.repaired is not None:
            r = self.repaired
            out.append(
                f"Åtgärdat: {count(r.removed, 'tillfällig fil', 'tillfälliga filer')} "
                f"borttagna ({format_size(r.removed_bytes)}), "
                f"{count(r.quarantined, 'fil', 'filer')} utan dokumentrad flyttade till "
                f"{quarantine_dir(self.settings)} ({format_size(r.quarantined_bytes)})."
            )
        problems = self.problems
        if problems:
            out.append(f"Fel ({len(problems)}):")
            out.extend(f"- {p}" for p in problems)
            if self.debris.temp or self.debris.orphans:
                out.append(
                    "Kör remiss check --repair för att ta bort de tillfälliga filerna och "
                    "flytta filerna utan dokumentrad till karantänen."
                )
        else:
            out.append("Allt är i ordning.")
        return out


def check(settings: Settings, *, now: dt.datetime, repair: bool = False) -> CheckReport:
    report = CheckReport(settings)
    try:
        with read_scope(settings.database_url) as session:
            report.database_problem, report.database_note = _database(session)
            rows = session.execute(
                select(Document.id, Document.storage_path, Document.sha256).order_by(Document.id)
            ).all()
            report.events_without_dispatch = (
                session.scalar(
                    select(func.count(Event.id))
                    .select_from(Event)
                    .outerjoin(Dispatch, Event.dispatch_id == Dispatch.id)
                    .where(Dispatch.id.is_(None))
                )
                or 0
            )
    except DBAPIError as exc:
        report.database_problem = f"den kunde inte läsas ({type(exc.orig).__name__})."
        return report
    report.documents = len(rows)
    store = settings.documents_dir
    for doc_id, storage_path, sha256 in rows:
        path = document_path(store, storage_path)
        try:
            digest = _sha256(path)
        except FileNotFoundError:
            report.missing.append((doc_id, str(path)))
            continue
        except OSError as exc:
            report.missing.append((doc_id, f"{path}: {exc.strerror}"))
            continue
        if digest != sha256:
            report.damaged.append((doc_id, str(path)))
    report.debris = find_debris(settings, now=now)
    if repair:
        report.repaired = clear(settings, report.debris, now=now)
        report.debris = find_debris(settings, now=now)
    return report


def _database(session: Session) -> tuple[str | None, str]:
    """A problem (None: none found) and what was checked."""
    if session.get_bind().dialect.name == "sqlite":
        results = [str(r) for r in session.scalars(text("PRAGMA integrity_check"))]
        if results != ["ok"]:
            return "; ".join(results[:5]), "SQLite integrity_check"
        broken = session.execute(text("PRAGMA foreign_key_check")).all()
        if broken:
            return (
                f"{count(len(broken), 'rad', 'rader')} pekar på rader som inte finns.",
                "SQLite foreign_key_check",
            )
        return None, "SQLite integrity_check och foreign_key_check: ok"
    # PostgreSQL keeps its own pages whole; what it counts is checksum failures (when the
    # cluster has data checksums), and reading a table's row count proves the catalog works.
    failures = session.scalar(
        text("SELECT checksum_failures FROM pg_stat_database WHERE datname = current_database()")
    )
    if failures:
        return (
            f"{count(int(failures), 'kontrollsummefel', 'kontrollsummefel')} i databasens sidor.",
            ("PostgreSQL pg_stat_database"),
        )
    return None, "PostgreSQL svarar; inga kontrollsummefel rapporterade"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
