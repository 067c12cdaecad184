"""`remiss backup DEST`: a consistent copy of a running installation.

The database first (SQLite's online backup API; `pg_dump` for PostgreSQL), then the data
folder's files. A file is written and renamed into place before the row that names it
commits, and a stored file never changes (its name is its sha256), so every file the copied
database refers to is already on disk when the files are copied after it. What came in
between is at worst a few files that the copy has no row for.

The copy is a data folder of its own: with `REMISS_DATA_DIR` pointing at it (and, for
PostgreSQL, the dump restored with `pg_restore`) `remiss check` passes on it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from remiss.core.errors import RemissError
from remiss.core.settings import Settings
from remiss.storage.documents import TEMP_DIR, TEMP_PREFIX
from remiss.storage.recovery import QUARANTINE_DIR

SQLITE_NAME = "remiss.db"
PG_DUMP_NAME = "remiss.pgdump"
MANIFEST = "sakerhetskopia.json"
# Not part of the record: Prefect's own database (rebuildable), logs, quarantined debris.
_SKIPPED = frozenset({"prefect", "logs", QUARANTINE_DIR})


@dataclass(frozen=True)
class BackupResult:
    dest: Path
    database: Path
    files: int
    file_bytes: int


def backup(settings: Settings, dest: Path, *, now: dt.datetime) -> BackupResult:
    dest = dest.expanduser().resolve()
    if dest.exists() and any(dest.iterdir()):
        raise RemissError(f"mappen {dest} finns redan och är inte tom; välj en ny mapp")
    if dest == settings.data_dir.resolve() or dest.is_relative_to(settings.data_dir.resolve()):
        raise RemissError("säkerhetskopian kan inte ligga i datamappen; välj en mapp utanför den")
    dest.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database_url)
    skipped_db: set[Path] = set()
    if url.get_backend_name() == "sqlite":
        source = Path(url.database or "")
        if not source.is_file():
            raise RemissError(f"databasen {source} finns inte")
        database = dest / SQLITE_NAME
        _sqlite_backup(source, database)
        resolved = source.resolve()
        skipped_db = {resolved, *(resolved.with_name(resolved.name + s) for s in _SIDE_FILES)}
    else:
        database = dest / PG_DUMP_NAME
        _pg_dump(settings.database_url, database)
    files, size = _copy_files(settings.data_dir, dest, skip=skipped_db)
    manifest = {
        "tagen": now.isoformat(),
        "databas": database.name,
        "filer": files,
        "byte": size,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return BackupResult(dest=dest, database=database, files=files, file_bytes=size)


_SIDE_FILES = ("-wal", "-shm", "-journal")


def _sqlite_backup(source: Path, target: Path) -> None:
    # The online backup API: a consistent copy while the portal goes on writing (WAL).
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_dump(database_url: str, target: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise RemissError(
            "programmet pg_dump finns inte i PATH; installera PostgreSQL-klienten "
            "(t.ex. paketet postgresql-client) i samma version som servern"
        )
    url = make_url(database_url)
    # The password in the environment, not on the command line where `ps` shows it.
    env = {**os.environ}
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[variable] = str(value)
    done = subprocess.run(
        [program, "--format=custom", "--no-owner", f"--file={target}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["okänt fel"])[-1]
        raise RemissError(f"pg_dump misslyckades: {last}")


def _copy_files(data_dir: Path, dest: Path, *, skip: set[Path]) -> tuple[int, int]:
    files = size = 0
    for folder, dirs, names in os.walk(data_dir):
        here = Path(folder)
        top = here == data_dir
        dirs[:] = sorted(
            d
            for d in dirs
            if not (top and d in _SKIPPED) and d != TEMP_DIR and (here / d).resolve() != dest
        )
        for name in sorted(names):
            path = here / name
            if name.startswith(TEMP_PREFIX) or path.resolve() in skip:
                continue
            target = dest / path.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, target)
            except FileNotFoundError:  # a file that went (a report replaced) is not needed
                continue
            files += 1
            size += target.stat().st_size
    return files, size
