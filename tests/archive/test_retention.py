"""Gallring (issue 21): by default nothing is deleted; configured, each kind goes once it is
old enough, never a round's newest report or package, never an answer or an event, and
every removal is in the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from remiss.archive import retention, sip
from remiss.core.errors import InputError
from remiss.core.settings import Settings, load_settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, AuditEntry, Document, Event
from remiss.report.compiling import build_for_compile, record_version
from remiss.report.render import write_report
from remiss.rounds.timeline import report_versions
from tests.conftest import settings_in_environment
from tests.support.archive import T0, closed_demo_round

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)


def round_with_everything(settings: Settings, case: Path) -> None:
    """The closed demo round, a final report after its preliminary one, and two packages."""
    closed_demo_round(settings, case)
    final = T0 + dt.timedelta(days=20)
    report = build_for_compile(settings, round_id=1, now=final, automatic=False)
    (folder,) = (settings.data_dir / "sammanstallningar").iterdir()
    record_version(report, write_report(report, settings, folder / final.strftime("%Y%m%d-%H%M%S")))
    sip.build_package(settings, round_id=1, now=T0 + dt.timedelta(days=21))
    sip.build_package(settings, round_id=1, now=T0 + dt.timedelta(days=22))


def counts(settings: Settings) -> tuple[int, int, int]:
    with session_scope(settings.database_url) as session:
        return (
            session.scalar(select(func.count()).select_from(Answer)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
            session.scalar(select(func.count()).select_from(Document)) or 0,
        )


def logged(settings: Settings) -> list[AuditEntry]:
    with session_scope(settings.database_url) as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "retention_applied"))
        )
        session.expunge_all()
        return entries


def test_by_default_nothing_is_deleted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, case_dir: Path
) -> None:
    settings = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    assert settings.gallring == {}
    round_with_everything(settings, case_dir / "arende.yaml")
    files = sorted(p for p in settings.data_dir.rglob("*") if p.is_file())
    before = counts(settings)
    assert retention.apply(settings, now=LATER) == 0
    assert sorted(p for p in settings.data_dir.rglob("*") if p.is_file()) == files
    assert counts(settings) == before
    assert logged(settings) == []


def test_each_kind_goes_when_old_enough_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, case_dir: Path
) -> None:
    monkeypatch.setenv(
        "REMISS_GALLRING", "utgaende_epostkopior=30,preliminara_sammanstallningar=30,arkivpaket=30"
    )
    settings = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    assert settings.gallring == {
        "utgaende_epostkopior": 30,
        "preliminara_sammanstallningar": 30,
        "arkivpaket": 30,
    }
    round_with_everything(settings, case_dir / "arende.yaml")
    copies = sorted(settings.outbox_dir.glob("*.eml"))
    assert copies
    before = counts(settings)

    # Not yet old enough: nothing goes.
    assert retention.apply(settings, now=dt.datetime.now(dt.UTC)) == 0

    removed = retention.apply(settings, now=LATER)
    assert removed == len(copies) + 2
    assert list(settings.outbox_dir.glob("*.eml")) == []
    versions = report_versions(settings.data_dir, round_id=1)
    assert [v.status for v in versions] == ["Slutlig"], "the final report stays"
    newest = sip.latest_package(settings, 1)
    assert newest is not None
    assert newest.name.endswith("-20261215-090000.zip"), "the newest package stays"
    assert len(list(newest.parent.glob("*.zip"))) == 1
    assert counts(settings) == before, "answers, events and documents are never deleted"

    entries = {e.detail["slag"]: e for e in logged(settings)}
    assert set(entries) == {"utgaende_epostkopior", "preliminara_sammanstallningar", "arkivpaket"}
    assert entries["utgaende_epostkopior"].detail["antal"] == len(copies)
    assert sorted(entries["utgaende_epostkopior"].detail["borttaget"]) == [
        str(p.relative_to(settings.data_dir)) for p in copies
    ]
    assert entries["arkivpaket"].round_id == 1
    assert entries["preliminara_sammanstallningar"].user_name == "gallring"
    # A second run finds nothing more.
    assert retention.apply(settings, now=LATER) == 0
    assert len(logged(settings)) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("remissvar=30", "aldrig gallras"),
        ("handelser=1", "aldrig gallras"),
        ("kvitton=30", "okänt slag"),
        ("arkivpaket=0", "minst 1"),
        ("arkivpaket", "par som"),
    ],
)
def test_a_rule_that_would_delete_a_record_or_makes_no_sense_is_refused(
    tmp_path: Path, value: str, expected: str
) -> None:
    with pytest.raises(InputError, match=expected):
        load_settings({"REMISS_DATA_DIR": str(tmp_path), "REMISS_GALLRING": value})
