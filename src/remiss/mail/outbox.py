"""The outbox backend: each message becomes an .eml file; nothing leaves the machine."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from remiss.core.errors import RemissError
from remiss.mail.base import (
    Folder,
    InboxItem,
    MailError,
    OutgoingEmail,
    TemporaryMailError,
    send_one_by_one,
)
from remiss.storage.documents import write_atomically


def filename_for(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".eml"


class OutboxMailer:
    name = "outbox"
    batch_size = 50

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str) -> Path:
        return self.directory / filename_for(key)

    def find_sent(self, idempotency_key: str) -> str | None:
        path = self.path_for(idempotency_key)
        return str(path) if path.exists() else None

    def send_many(self, messages: Sequence[OutgoingEmail]) -> Iterator[list[str | MailError]]:
        return send_one_by_one(self.send, messages)

    def send(self, message: OutgoingEmail) -> str:
        path = self.path_for(message.idempotency_key)
        if path.exists():
            return str(path)
        try:
            write_atomically(path, message.mime_bytes(), suffix=".eml")
        except OSError as exc:
            raise TemporaryMailError(
                f"kunde inte skriva till utkorgen {self.directory}: {exc}"
            ) from exc
        return str(path)


class FolderMailbox:
    """A folder as the remiss mailbox: each .eml file in it is one incoming message.

    Processed files move to `behandlade/`, unmatched ones to `omatchade/` (a rename, so a
    file is in exactly one place). For the demo and for sites that let a mail system
    drop incoming mail as files.
    """

    name = "folder"
    SUBFOLDERS: ClassVar[dict[Folder, str]] = {"processed": "behandlade", "unmatched": "omatchade"}

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def fetch(self, limit: int) -> list[InboxItem]:
        if not self.directory.is_dir():
            return []
        paths = sorted(self.directory.glob("*.eml"), key=lambda p: (p.stat().st_mtime, p.name))
        return [InboxItem(ref=p.name, item_class="", mime=p.read_bytes()) for p in paths[:limit]]

    def file(self, item: InboxItem, folder: Folder) -> None:
        source = self.directory / item.ref
        if not source.exists():
            return
        target = self.directory / self.SUBFOLDERS[folder]
        target.mkdir(parents=True, exist_ok=True)
        os.replace(source, target / item.ref)

    def list_folder(self, folder: Folder, limit: int = 200) -> list[InboxItem]:
        target = self.directory / self.SUBFOLDERS[folder]
        if not target.is_dir():
            return []
        paths = sorted(target.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [InboxItem(ref=p.name, item_class="", mime=p.read_bytes()) for p in paths[:limit]]


def check_folders(outbox_dir: Path, inbox_dir: Path) -> list[str]:
    """Both folders exist and take a file; raises RemissError naming the one that does not."""
    lines = []
    for label, path in (("Utkorgen", outbox_dir), ("Inkorgen", inbox_dir)):
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".skrivtest"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RemissError(f"{label} {path} går inte att skriva i: {exc}") from exc
        lines.append(f"{label}: {path} (skrivbar)")
    return lines
