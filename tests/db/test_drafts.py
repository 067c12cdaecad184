"""Case drafts and outside organisations named for one case, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from remiss.audit.log import ACTION_LABELS
from remiss.cases import drafts
from remiss.cases.casefile import ad_hoc_code, parse_case, plan_round
from remiss.core.errors import InputError
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import AuditEntry, Dispatch, RemissinstansRow
from remiss.register.instances import load_register
from remiss.rounds import start as rounds_start
from remiss.rounds.service import create_round, sync_register
from remiss.storage.uploads import UploadLimits, check_file
from tests.conftest import SettingsFactory

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

TEATER = {"namn": "Teaterförbundet", "epost": "kansli@teaterforbundet.example", "typ": "extern"}


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=NOW)
    return s


def complete_data() -> dict[str, object]:
    return {
        "diarienummer": "KS 2026/1201",
        "rubrik": "Motion om fler scener för fri teater",
        "arendetyp": "motion",
        "motionarer": [{"namn": "Anna Andersson", "parti": "S"}],
        "vackt": "2026-10-19",
        "att_satser": ["att staden inventerar lokaler som kan bli scener"],
        "handlaggare": {"namn": "Karin Lindqvist", "epost": "karin.lindqvist@stockholm.example"},
        "missiv": "Vi önskar särskilt era synpunkter på lokalfrågan.",
        "remissinstanser": ["kulturnamnden", TEATER],
        "svar_senast": "2027-01-29",
    }


def test_a_complete_draft_becomes_a_case_and_its_round_gets_an_ad_hoc_row(
    settings: Settings,
) -> None:
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = drafts.create_draft(session, user="karin", now=NOW)
        drafts.save_draft(
            session, draft=draft, changes=complete_data(), user="karin", now=NOW, what="test"
        )
        checked = check_file("motion.pdf", PDF, UploadLimits())
        drafts.add_document(
            session,
            draft=draft,
            checked=checked,
            title="Motionen",
            store=settings.documents_dir,
            user="karin",
            now=NOW,
        )
        case = drafts.case_from_draft(draft, register=register)
        assert case.att_satser == ("att staden inventerar lokaler som kan bli scener",)
        assert case.handlingar[0].send_name == "motion.pdf"
        assert [i.name for i in case.ad_hoc] == ["Teaterförbundet"]
        plan = plan_round(case, register, today=TODAY)
        rnd = create_round(session, plan=plan, settings=settings, now=NOW)
        names = sorted(d.name for d in rnd.dispatches)
        assert names == ["Kulturnämnden", "Teaterförbundet"]
        assert rnd.case.documents[0].filename == "motion.pdf"
        actions = [
            (e.action, e.round_id, e.detail["draft_id"])
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
        assert {a for a, _, _ in actions} <= set(ACTION_LABELS)
        assert actions[0] == ("draft_created", None, draft.id)
        assert all(r is None for _, r, _ in actions)

    with session_scope(settings.database_url) as session:
        row = session.scalars(
            select(RemissinstansRow).where(RemissinstansRow.name == "Teaterförbundet")
        ).one()
        assert row.ad_hoc is True
        assert row.code == ad_hoc_code("Teaterförbundet", "kansli@teaterforbundet.example")
        assert row.code.startswith("extern-teaterforbundet-")


def test_the_register_sync_never_changes_or_removes_an_ad_hoc_row(
    settings: Settings, case_dir: Path
) -> None:
    data = yaml.safe_load((case_dir / "arende.yaml").read_text(encoding="utf-8"))
    data["remissinstanser"] = ["kulturnamnden", TEATER]
    (case_dir / "arende.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    round_id = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=NOW, deadline="2027-01-29"
    )
    register = load_register(settings.register)
    later = NOW + dt.timedelta(days=3)
    with session_scope(settings.database_url) as session:
        assert sync_register(session, register=register, now=later) == 0
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(RemissinstansRow).where(RemissinstansRow.ad_hoc)).one()
        assert (row.name, row.email, row.updated_at) == (
            "Teaterförbundet",
            "kansli@teaterforbundet.example",
            NOW,
        )
        dispatch = session.scalars(
            select(Dispatch).where(Dispatch.round_id == round_id, Dispatch.name == row.name)
        ).one()
        assert dispatch.remissinstans_id == row.id


def test_a_second_case_naming_the_same_organisation_reuses_its_row(
    settings: Settings, case_dir: Path
) -> None:
    path = case_dir / "arende.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["remissinstanser"] = [TEATER]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    rounds_start.prepare_round(settings, path, now=NOW, deadline="2027-01-29")
    rounds_start.prepare_round(settings, path, now=NOW, deadline="2027-01-29", new_round=True)
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(RemissinstansRow).where(RemissinstansRow.ad_hoc)).all()
        assert len(rows) == 1


def test_a_draft_naming_an_unknown_code_names_the_entry(settings: Settings) -> None:
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = drafts.create_draft(session, user="karin", now=NOW)
        data = complete_data()
        data["remissinstanser"] = ["kulturnamnden", "finns_inte"]
        drafts.save_draft(session, draft=draft, changes=data, user="karin", now=NOW, what="t")
        with pytest.raises(InputError) as info:
            drafts.case_from_draft(draft, register=register)
        assert info.value.field == "remissinstanser[1]"


def test_an_outside_organisation_with_a_register_address_is_refused(settings: Settings) -> None:
    register = load_register(settings.register)
    kultur = register.instanser["kulturnamnden"]
    with session_scope(settings.database_url) as session:
        draft = drafts.create_draft(session, user="karin", now=NOW)
        data = complete_data()
        data["remissinstanser"] = [{"namn": "Kultur", "epost": kultur.email, "typ": "namnd"}]
        drafts.save_draft(session, draft=draft, changes=data, user="karin", now=NOW, what="t")
        with pytest.raises(InputError) as info:
            drafts.case_from_draft(draft, register=register)
        assert info.value.field == "remissinstanser[0].epost"
        assert "Kulturnämnden" in info.value.message


def test_a_draft_without_a_deadline_is_not_a_case(settings: Settings) -> None:
    register = load_register(settings.register)
    with session_scope(settings.database_url) as session:
        draft = drafts.create_draft(session, user="karin", now=NOW)
        data = complete_data()
        del data["svar_senast"]
        drafts.save_draft(session, draft=draft, changes=data, user="karin", now=NOW, what="t")
        with pytest.raises(InputError) as info:
            drafts.case_from_draft(draft, register=register)
        assert info.value.field == "svar_senast"


def test_the_case_file_reads_the_same_ad_hoc_entry(case_dir: Path) -> None:
    path = case_dir / "arende.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["remissinstanser"] = ["kulturnamnden", TEATER]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    case = parse_case(path)
    assert case.remissinstanser == ("kulturnamnden",)
    assert case.ad_hoc[0].email == "kansli@teaterforbundet.example"
