"""The outbox backend: each message becomes an .eml file; nothing leaves the machine."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from remiss.mail.base import OutgoingEmail, TemporaryMailError


def filename_for(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".eml"


class OutboxMailer:
    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str) -> Path:
        return self.directory / filename_for(key)

    def find_sent(self, idempotency_key: str) -> str | None:
        path = self.path_for(idempotency_key)
        return str(path) if path.exists() else None

    def send(self, message: OutgoingEmail) -> str:
        path = self.path_for(message.idempotency_key)
        if path.exists():
            return str(path)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Written beside its final name and renamed: a reader never sees half a message.
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(message.to_mime().as_bytes())
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise TemporaryMailError(
                f"kunde inte skriva till utkorgen {self.directory}: {exc}"
            ) from exc
        return str(path)
