"""Content-addressed file store under the data folder: atomic writes, sha256 names."""

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


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size: int
    created: bool = False  # written by this call, not already there for another document


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
        storage_path=str(stored.path),
        created_at=now,
    )


def store_file(source: Path, store: Path) -> StoredFile:
    """Copy `source` into `store`, named by its sha256; a file already there is kept as it is."""
    return store_bytes(source.read_bytes(), store)


def write_atomically(path: Path, data: bytes, *, suffix: str = "") -> None:
    """Write beside the final name, fsync and rename: a reader never sees half a file, and
    a failed write (a full or read-only disk) leaves nothing behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_bytes(data: bytes, store: Path) -> StoredFile:
    """Write `data` into `store` atomically and durably, named by its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    target = store / digest[:2] / digest
    if target.exists():
        return StoredFile(path=target, sha256=digest, size=len(data))
    write_atomically(target, data)
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
