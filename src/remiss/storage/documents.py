"""Content-addressed file store under the data folder: atomic writes, sha256 names.

A document row holds its file's path relative to the documents folder (`ab/abcd…`), so the
data folder can be moved or restored anywhere by changing `data_dir`. Files are written in
a temp folder of their own inside the documents folder (one file system, so the rename is
atomic) and renamed into place before the row commits: a row never lacks its file, and what
a crash leaves is either debris in the temp folder or a whole file no row references, which
`remiss.storage.recovery` clears.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.db.models import Answer, Document

# Inside the documents folder, so that a rename from it into place never crosses file systems.
TEMP_DIR = ".tmp"
TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size: int
    created: bool = False  # written by this call, not already there for another document

    @property
    def storage_path(self) -> str:
        """What the document row holds: the path relative to the documents folder."""
        return relative_path(self.sha256)


def relative_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def document_path(store: Path, storage_path: str) -> Path:
    """Where a row's file is: relative to the documents folder `store` (an absolute path,
    from before migration 0012 or outside the documents folder, is used as it is)."""
    return store / storage_path


def temp_dir(store: Path) -> Path:
    return store / TEMP_DIR


def document_row(
    stored: StoredFile,
    *,
    position: int,
    title: str,
    filename: str,
    content_type: str,
    now: dt.datetime,
    answer_id: int | None = None,
) -> Document:
    """The database row of a stored file: a case's handling or an answer's document."""
    return Document(
        answer_id=answer_id,
        position=position,
        title=title,
        filename=filename,
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_path=stored.storage_path,
        created_at=now,
    )


def store_file(source: Path, store: Path) -> StoredFile:
    """Copy `source` into `store`, named by its sha256; a file already there is kept as it is."""
    return store_bytes(source.read_bytes(), store)


def write_atomically(
    path: Path, data: bytes, *, suffix: str = "", temp: Path | None = None
) -> None:
    """Write in `temp` (beside the final name if not given), fsync and rename: a reader never
    sees half a file, and a failed write (a full or read-only disk) leaves nothing behind.
    A crash may leave a `.tmp-*` file in `temp`, which nothing reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    where = temp or path.parent
    where.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=where, prefix=TEMP_PREFIX, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        if temp is not None:
            _sync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync_dir(folder: Path) -> None:
    """The rename itself made durable before the row that names the file commits."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _still_there(path: Path) -> bool:
    """Whether the file is in place, its time refreshed: the recovery leaves a file this young
    where it is, so one that no row referenced until now is not moved away before the new
    row commits."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except OSError:  # a read-only folder: the file is there, its time as it was
        return path.exists()
    return True


def store_bytes(data: bytes, store: Path) -> StoredFile:
    """Write `data` into `store` atomically and durably, named by its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    target = store / relative_path(digest)
    if _still_there(target):
        return StoredFile(path=target, sha256=digest, size=len(data))
    write_atomically(target, data, temp=temp_dir(store))
    return StoredFile(path=target, sha256=digest, size=len(data), created=True)


def read_verified(path: Path, sha256: str) -> bytes:
    """The stored bytes, refusing a file that no longer matches its checksum."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise OSError(f"lagrad fil {path} stämmer inte med sin kontrollsumma")
    return data


def find_document(session: Session, *, document_id: int) -> Document | None:
    """Any stored document (the staff view's files), or None."""
    return session.get(Document, document_id)


def case_document(session: Session, *, case_id: int, document_id: int) -> Document | None:
    """A handling sent with the case, or None for any other document."""
    doc = session.get(Document, document_id)
    return doc if doc is not None and doc.case_id == case_id else None


def answer_document(session: Session, *, dispatch_id: int, document_id: int) -> Document | None:
    """A file of one of the dispatch's own answers, or None for any other document."""
    return session.scalars(
        select(Document)
        .join(Answer, Document.answer_id == Answer.id)
        .where(Document.id == document_id, Answer.dispatch_id == dispatch_id)
    ).first()
