"""What a crash leaves in the documents folder, found and cleared without touching a record.

An upload writes its file in `documents/.tmp`, renames it into place and only then commits
the row that names it. Killed in between, the process leaves a `.tmp-*` file (killed while
writing) or a whole file that no row references (killed after the rename). Both are cleared
here once older than `storage_grace_minutes` (younger ones may belong to an upload in flight
in another process): temp files are removed, unreferenced files are moved to the quarantine
folder (`<data_dir>/karantan`), never deleted. A file that a row references is never moved.

The log says how many files and bytes, never a name or anything of the content.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.core.settings import Settings
from remiss.db.engine import read_scope
from remiss.db.models import Document
from remiss.storage.documents import TEMP_DIR, TEMP_PREFIX, temp_dir

log = logging.getLogger("remiss.storage")

QUARANTINE_DIR = "karantan"
_CONTENT_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Found:
    path: Path
    size: int
    modified: dt.datetime


@dataclass
class Debris:
    """Temp files and files without a row, each split by whether it is past the grace."""

    temp: list[Found] = field(default_factory=list)
    orphans: list[Found] = field(default_factory=list)
    fresh_temp: list[Found] = field(default_factory=list)
    fresh_orphans: list[Found] = field(default_factory=list)

    @property
    def temp_bytes(self) -> int:
        return sum(f.size for f in self.temp)

    @property
    def orphan_bytes(self) -> int:
        return sum(f.size for f in self.orphans)


@dataclass(frozen=True)
class Recovery:
    removed: int
    removed_bytes: int
    quarantined: int
    quarantined_bytes: int


def quarantine_dir(settings: Settings) -> Path:
    return settings.data_dir / QUARANTINE_DIR


def _found(path: Path) -> Found | None:
    try:
        stat = path.stat()
    except FileNotFoundError:  # renamed or removed meanwhile
        return None
    return Found(path, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))


def temp_files(store: Path) -> Iterator[Path]:
    """Temp files in the temp folder, and any left beside the files (the way writes were made
    before the temp folder)."""
    if (folder := temp_dir(store)).is_dir():
        yield from (p for p in folder.iterdir() if p.is_file())
    if store.is_dir():
        for shard in store.iterdir():
            if shard.is_dir() and shard.name != TEMP_DIR:
                yield from (p for p in shard.glob(f"{TEMP_PREFIX}*") if p.is_file())


def content_files(store: Path) -> Iterator[Path]:
    """Every stored file: `<two hex digits>/<its sha256>`."""
    if not store.is_dir():
        return
    for shard in store.iterdir():
        if shard.is_dir() and len(shard.name) == 2 and shard.name != TEMP_DIR:
            for path in shard.iterdir():
                if (
                    path.is_file()
                    and _CONTENT_NAME.fullmatch(path.name)
                    and path.name.startswith(shard.name)
                ):
                    yield path


def referenced(session: Session) -> set[str]:
    """The sha256 of every document row: content-addressed, a row names its file by it."""
    return set(session.scalars(select(Document.sha256).distinct()))


def find_debris(settings: Settings, *, now: dt.datetime) -> Debris:
    store = settings.documents_dir
    cutoff = now - dt.timedelta(minutes=settings.storage_grace_minutes)
    debris = Debris()
    for path in temp_files(store):
        if (found := _found(path)) is not None:
            (debris.temp if found.modified <= cutoff else debris.fresh_temp).append(found)
    # The files are listed before the rows are read: a file renamed into place after the
    # listing is not judged, and one listed before its row committed is then referenced.
    files = list(content_files(store))
    with read_scope(settings.database_url) as session:
        known = referenced(session)
    for path in files:
        if path.name in known or (found := _found(path)) is None:
            continue
        (debris.orphans if found.modified <= cutoff else debris.fresh_orphans).append(found)
    return debris


def clear(settings: Settings, debris: Debris, *, now: dt.datetime) -> Recovery:
    """Remove the stale temp files and move the stale unreferenced files to quarantine."""
    removed = removed_bytes = 0
    for found in debris.temp:
        try:
            found.path.unlink()
        except OSError:  # gone meanwhile, or a read-only folder: left for the next run
            continue
        removed += 1
        removed_bytes += found.size
    quarantined = quarantined_bytes = 0
    cutoff = now - dt.timedelta(minutes=settings.storage_grace_minutes)
    for found in debris.orphans:
        if _quarantine(settings, found.path, cutoff=cutoff):
            quarantined += 1
            quarantined_bytes += found.size
    result = Recovery(removed, removed_bytes, quarantined, quarantined_bytes)
    if removed or quarantined:
        log.warning(
            "storage recovery: removed %d temp files (%d bytes), moved %d unreferenced files "
            "(%d bytes) to quarantine",
            removed,
            removed_bytes,
            quarantined,
            quarantined_bytes,
        )
    return result


def _quarantine(settings: Settings, path: Path, *, cutoff: dt.datetime) -> bool:
    target_dir = quarantine_dir(settings)
    target = target_dir / path.name
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    except OSError:  # gone meanwhile, or a full or read-only disk: left for the next run
        return False
    # An upload of the same content that found the file in place just before the move
    # refreshed its time (store_bytes) and may be about to commit its row: put it back.
    moved = _found(target)
    if moved is not None and moved.modified > cutoff:
        os.replace(target, path)
        return False
    with read_scope(settings.database_url) as session:
        wanted = session.scalars(
            select(Document.id).where(Document.sha256 == path.name).limit(1)
        ).first()
    if wanted is not None:
        os.replace(target, path)
        return False
    return True


def recover(settings: Settings, *, now: dt.datetime) -> Recovery:
    """At start and in the daily check: clear what crashes left, past the grace period."""
    return clear(settings, find_debris(settings, now=now), now=now)
