"""The nightly kontroll flow: clears what crashes left, and fails (raising the alarm) when
the record is not whole (issue 24)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from flows.check import check_record
from remiss.core.dates import utcnow
from remiss.core.settings import Settings
from remiss.rounds import start as rounds_start
from remiss.storage.documents import store_bytes, temp_dir
from remiss.storage.recovery import quarantine_dir
from tests.conftest import future_deadline


def test_the_flow_quarantines_old_debris_and_fails_on_a_missing_file(
    settings: Settings, case_dir: Path
) -> None:
    rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=utcnow(), deadline=future_deadline().isoformat()
    )
    orphan = store_bytes(b"a file whose row never committed", settings.documents_dir).path
    partial = temp_dir(settings.documents_dir) / ".tmp-x"
    partial.write_bytes(b"half")
    old = time.time() - 2 * 3600
    for path in (orphan, partial):
        os.utime(path, (old, old))

    assert check_record() == {"dokument": 1, "borttagna": 1, "karantan": 1}
    assert not partial.exists()
    assert (quarantine_dir(settings) / orphan.name).exists()

    handling = next(p for p in settings.documents_dir.rglob("*") if p.is_file())
    handling.unlink()
    with pytest.raises(Exception, match="filen saknas"):
        check_record()
