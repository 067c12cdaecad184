"""The documents folder full or read-only while an official uploads an answer.

The faults are real: the documents folder is a small tmpfs of its own, filled up with a filler
file, or remounted read-only (which stops root too, unlike a chmod). That needs root, as the
tests have here and in CI; without it the test fails with a message rather than skipping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remiss.storage.documents import read_verified
from remiss.storage.recovery import find_debris
from tests.support.documents import pdf_bytes
from tests.web.conftest import Portal
from tests.web.test_portal import answer_form, answers_of, files

SIZE = 4 * 1024 * 1024
FIRST = pdf_bytes("Socialnämndens första svar")
BIG = pdf_bytes("Socialnämndens nya svar") + b"%" + b"1" * (2 * 1024 * 1024)


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "fyllnad"

    def fill(self, leave: int) -> None:
        """Take up all but `leave` bytes of the disk."""
        self.empty()
        stat = os.statvfs(self.path)
        self.filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))

    def empty(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool) -> None:
        mode = "ro" if on else "rw"
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def files(self) -> set[str]:
        """Everything stored, temporary files included, apart from the filler."""
        return {
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and p != self.filler
        }


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    # The settings' documents folder (data/documents), mounted before the round stores its
    # own documents there.
    path = tmp_path / "data" / "documents"
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"these tests mount a small tmpfs and need root: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture
def answered(disk: SmallDisk, make_portal: Callable[..., Portal]) -> tuple[Portal, str]:
    """The portal, with a first answer from Socialnämnden already in."""
    portal = make_portal()
    token = portal.tokens["socialnamnden"]
    first = portal.client.post(
        f"/r/{token}/svar", data=answer_form(portal.csrf(token)), files=files(("svar.pdf", FIRST))
    )
    assert first.status_code == 303
    return portal, token


def versions(portal: Portal) -> list[tuple[int, str, list[bytes]]]:
    return [
        (
            a.version,
            a.summary or "",
            [
                read_verified(portal.settings.documents_dir / d.storage_path, d.sha256)
                for d in a.documents
            ],
        )
        for a in sorted(answers_of(portal, "socialnamnden"), key=lambda a: a.version)
    ]


def post_new_answer(portal: Portal, token: str, *uploads: tuple[str, bytes]) -> str:
    """Post a changed answer and return the page, which must be the form with the error."""
    response = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(portal.csrf(token), sammanfattning="Nämnden har ändrat sig."),
        files=files(*uploads),
    )
    assert response.status_code == 503
    assert "text/html" in response.headers["content-type"]
    return str(response.text)


def assert_no_debris(portal: Portal) -> None:
    """No temp file and no file without its row, whatever its age (remiss check's view)."""
    found = find_debris(portal.settings, now=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    assert (found.temp, found.orphans) == ([], [])


def assert_the_first_answer_stands(portal: Portal) -> None:
    assert versions(portal) == [(1, "Nämnden ser positivt på förslaget.", [FIRST])]


def test_a_full_disk_gives_a_clear_page_keeps_nothing_and_the_first_answer_stands(
    answered: tuple[Portal, str], disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    portal, token = answered
    before = disk.files()
    disk.fill(leave=64 * 1024)
    with caplog.at_level(logging.ERROR, logger="remiss.web"):
        page = post_new_answer(portal, token, ("nytt svar.pdf", BIG))
    assert "Svaret kunde inte sparas på grund av ett tekniskt fel hos oss" in page
    assert "ett svar som ni har lämnat tidigare gäller fortfarande" in page
    # The form comes back with what the official wrote, so nothing has to be typed again.
    assert "Nämnden har ändrat sig." in page
    assert disk.files() == before, "a half-written file was left in the documents folder"
    assert_the_first_answer_stands(portal)
    assert any("No space left on device" in r.getMessage() for r in caplog.records)
    # Nothing of the answer in the log (issue 24), and no debris for the recovery to find.
    assert not any("ändrat sig" in r.getMessage() for r in caplog.records)
    assert_no_debris(portal)

    # Once there is room again the same answer goes in as the next version.
    disk.empty()
    again = portal.client.post(
        f"/r/{token}/svar",
        data=answer_form(portal.csrf(token), sammanfattning="Nämnden har ändrat sig."),
        files=files(("nytt svar.pdf", BIG)),
    )
    assert again.status_code == 303
    assert [v[0] for v in versions(portal)] == [1, 2]
    assert versions(portal)[1][2] == [BIG]


def test_the_files_that_fitted_are_removed_when_the_next_does_not(
    answered: tuple[Portal, str], disk: SmallDisk
) -> None:
    portal, token = answered
    fits = pdf_bytes("Protokollsutdrag") + b"%" + b"2" * (256 * 1024)
    before = disk.files()
    disk.fill(leave=1024 * 1024)
    post_new_answer(portal, token, ("protokoll.pdf", fits), ("nytt svar.pdf", BIG))
    stored_as = hashlib.sha256(fits).hexdigest()
    assert not any(name.endswith(stored_as) for name in disk.files())
    assert disk.files() == before
    assert_the_first_answer_stands(portal)


def test_a_read_only_documents_folder_gives_the_same_clear_page(
    answered: tuple[Portal, str], disk: SmallDisk
) -> None:
    portal, token = answered
    before = disk.files()
    disk.read_only(True)
    try:
        page = post_new_answer(portal, token, ("nytt svar.pdf", pdf_bytes("Ändrat svar")))
    finally:
        disk.read_only(False)
    assert "Svaret kunde inte sparas" in page
    assert disk.files() == before
    assert_no_debris(portal)
    assert_the_first_answer_stands(portal)
