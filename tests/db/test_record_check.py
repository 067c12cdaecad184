"""What a crash leaves is cleared without touching a record, `remiss check` says what is
wrong, and migration 0012 makes the stored paths relative (issue 24); SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from remiss.cli import app
from remiss.core.errors import RemissError
from remiss.core.settings import Settings
from remiss.db.engine import alembic_config, get_engine, migrate, session_scope
from remiss.db.models import Document
from remiss.rounds import start as rounds_start
from remiss.storage.backup import backup
from remiss.storage.check import check
from remiss.storage.documents import document_row, store_bytes, temp_dir
from remiss.storage.recovery import quarantine_dir, recover
from tests.conftest import SettingsFactory, _admin_conninfo, drop_database, settings_in_environment

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
HOUR_AGO = (NOW - dt.timedelta(hours=2)).timestamp()


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str, case_dir: Path) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=NOW)
    rounds_start.prepare_round(s, case_dir / "arende.yaml", now=NOW, deadline="2027-01-29")
    return s


def aged(path: Path, when: float = HOUR_AGO) -> Path:
    os.utime(path, (when, when))
    return path


def crash_debris(settings: Settings) -> dict[str, Path]:
    """What kills leave: a partial temp file, a whole file with no row (both old), and a
    young file with no row (an upload in flight elsewhere)."""
    store = settings.documents_dir
    temp_dir(store).mkdir(parents=True, exist_ok=True)
    partial = temp_dir(store) / ".tmp-abc123"
    partial.write_bytes(b"%PDF-1.7 half")
    aged(partial)
    orphan = aged(store_bytes(b"an answer whose row never committed", store).path)
    young = store_bytes(b"an upload in flight", store).path
    # The way writes were made before the temp folder: beside the final name.
    beside = orphan.parent / ".tmp-old"
    beside.write_bytes(b"x" * 10)
    aged(beside)
    return {"partial": partial, "orphan": orphan, "young": young, "beside": beside}


def test_recovery_removes_temp_files_and_quarantines_old_orphans_but_never_a_record(
    settings: Settings,
) -> None:
    with session_scope(settings.database_url) as session:
        documents = [(d.storage_path, d.sha256) for d in session.scalars(select(Document))]
    assert documents
    for path, _ in documents:  # the case's handlingar: old, and referenced
        aged(settings.documents_dir / path)
    debris = crash_debris(settings)

    done = recover(settings, now=NOW)

    assert (done.removed, done.quarantined) == (2, 1)
    assert done.removed_bytes == len(b"%PDF-1.7 half") + 10
    assert not debris["partial"].exists()
    assert not debris["beside"].exists()
    assert not debris["orphan"].exists()
    assert (quarantine_dir(settings) / debris["orphan"].name).read_bytes() == (
        b"an answer whose row never committed"
    )
    assert debris["young"].exists()  # within storage_grace_minutes: left alone
    for path, sha in documents:
        data = (settings.documents_dir / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha
    # Nothing more to do the second time.
    again = recover(settings, now=NOW)
    assert (again.removed, again.quarantined) == (0, 0)


def test_a_file_stored_again_while_quarantined_is_given_back(settings: Settings) -> None:
    orphan = aged(store_bytes(b"same content", settings.documents_dir).path)
    # An upload of the same content finds it in place: its time is refreshed, so it stays.
    store_bytes(b"same content", settings.documents_dir)
    assert recover(settings, now=dt.datetime.now(dt.UTC)).quarantined == 0
    assert orphan.exists()


def test_check_reports_in_swedish_and_repairs_only_what_is_safe(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(settings, now=NOW)
    assert report.problems == []
    assert report.lines()[-1] == "Allt är i ordning."

    debris = crash_debris(settings)
    with session_scope(settings.database_url) as session:
        first = session.scalars(select(Document).order_by(Document.id)).first()
        assert first is not None
        damaged = settings.documents_dir / first.storage_path
        gone = store_bytes(b"a file that will go missing", settings.documents_dir)
        second = document_row(
            gone, position=1, title="t", filename="f.pdf", content_type="application/pdf", now=NOW
        )
        second.case_id = first.case_id
        session.add(second)
        session.flush()
        damaged_id, missing_id = first.id, second.id
    damaged.write_bytes(b"changed on disk")
    gone.path.unlink()

    report = check(settings, now=NOW)
    text_ = "\n".join(report.lines())
    assert f"Dokument {damaged_id}: filen stämmer inte med sin kontrollsumma" in text_
    assert f"Dokument {missing_id}: filen saknas" in text_
    assert "Två tillfälliga filer" in text_
    assert "En fil (35 byte) i dokumentmappen hör inte till något dokument." in text_
    assert "yngre än 60 minuter och lämnas" in text_
    assert "remiss check --repair" in text_
    assert len(report.problems) == 4

    repaired = check(settings, now=NOW, repair=True)
    assert repaired.repaired is not None
    assert (repaired.repaired.removed, repaired.repaired.quarantined) == (2, 1)
    assert not debris["partial"].exists()
    # A damaged or missing record is not "repaired": it is reported, and stays as it is.
    assert len(repaired.problems) == 2
    assert damaged.read_bytes() == b"changed on disk"

    # The command: the same report, exit code 1 while something is wrong.
    settings_in_environment(monkeypatch, settings.data_dir, settings.database_url)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1, result.output
    assert "Databasen: hel" in result.output
    assert "filen saknas" in result.output


def test_the_command_passes_and_exits_0_on_a_whole_record(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_in_environment(monkeypatch, settings.data_dir, settings.database_url)
    result = CliRunner().invoke(app, ["check", "--reparera"])
    assert result.exit_code == 0, result.output
    assert "Allt är i ordning." in result.output


def test_migration_0012_makes_paths_in_the_documents_folder_relative(
    make_settings: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    url = make_settings(database_url).database_url
    command.upgrade(alembic_config(url), "0011")
    sha = hashlib.sha256(b"x").hexdigest()
    inside = f"/srv/remiss/data/documents/{sha[:2]}/{sha}"
    elsewhere = "/srv/handlingar/motion.pdf"
    with session_scope(url) as session:
        for i, path in enumerate((inside, elsewhere), start=1):
            session.execute(
                text(
                    "INSERT INTO document (id, position, title, filename, content_type, size, "
                    "sha256, storage_path, created_at) VALUES (:id, 0, 't', 'f.pdf', "
                    "'application/pdf', 1, :sha, :path, :at)"
                ),
                {"id": i, "sha": sha, "path": path, "at": NOW},
            )
    migrate(url)
    with session_scope(url) as session:
        paths = list(session.scalars(select(Document.storage_path).order_by(Document.id)))
    assert paths == [f"{sha[:2]}/{sha}", elsewhere]


def test_a_backup_restores_to_another_path_and_passes_the_check(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_bytes(b"an answer's file", settings.documents_dir)  # an unreferenced file, too
    result = backup(settings, tmp_path / "kopia", now=NOW)
    assert result.files >= 2  # the handling and the file above
    restored = tmp_path / "flyttad" / "data"
    restored.parent.mkdir()
    (tmp_path / "kopia").rename(restored)
    assert not (restored / "documents" / ".tmp").exists()
    if settings.database_url.startswith("sqlite"):
        url = f"sqlite:///{restored / 'remiss.db'}"
    else:
        # Restored into a database of its own, as the operations guide says.
        name = f"remiss_restore_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        request_cleanup.append(name)
        url = make_url(settings.database_url).set(database=name).render_as_string(False)
        target = make_url(url).set(drivername="postgresql").render_as_string(False)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={target}", str(restored / "remiss.pgdump")],
            check=True,
            capture_output=True,
        )
    copy = dataclasses.replace(settings, data_dir=restored, database_url=url)
    report = check(copy, now=NOW)
    assert report.documents >= 1
    assert report.missing == report.damaged == []
    assert report.database_problem is None
    with session_scope(url) as session:
        assert session.scalar(select(func.count(Document.id))) == report.documents
    shutil.rmtree(settings.data_dir)  # nothing still reads the original
    assert check(copy, now=NOW).missing == []
    get_engine(url).dispose()


def test_a_backup_without_pg_dump_says_so_in_swedish(
    make_settings: SettingsFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings("postgresql+psycopg://remiss@127.0.0.1:1/remiss")
    settings.data_dir.mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RemissError, match="programmet pg_dump finns inte i PATH"):
        backup(settings, tmp_path / "kopia", now=NOW)


request_cleanup: list[str] = []


@pytest.fixture(autouse=True)
def _drop_restored_databases() -> Iterator[None]:
    yield
    while request_cleanup:
        drop_database(request_cleanup.pop())
