"""The register extract for the diarium (issue 21): every document of a closed demo round,
as CSV that Excel reads and as JSON valid against its shipped schema, on SQLite and
PostgreSQL; "new since the last extract" per consumer; the CLI and its Swedish errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from typer.testing import CliRunner

from remiss.archive import register
from remiss.cli import app
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from tests.conftest import settings_in_environment
from tests.support.archive import closed_demo_round

NOW = dt.datetime(2026, 12, 14, 8, 0, tzinfo=dt.UTC)
HEADER = [label for _key, label in register.CSV_COLUMNS]


@pytest.fixture
def demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, case_dir: Path
) -> Settings:
    settings = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    closed_demo_round(settings, case_dir / "arende.yaml")
    return settings


def extract(settings: Settings, fmt: str, **kwargs: object) -> tuple[bytes, int]:
    with session_scope(settings.database_url) as session:
        return register.build_extract(session, settings, now=NOW, fmt=fmt, **kwargs)  # type: ignore[arg-type]


def rows_of(data: bytes) -> list[dict[str, str]]:
    """The CSV read back as a registrator's import would: utf-8-sig, semicolons."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_csv_opens_in_excel_with_every_document_of_the_round(demo: Settings) -> None:
    data, count = extract(demo, "csv", round_id=1)
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so that Excel reads UTF-8"
    assert data.count(b"\r\n") == count + 1
    assert b"\n" not in data.replace(b"\r\n", b"")
    rows = rows_of(data)
    assert list(rows[0]) == HEADER
    kinds = [r["Handlingstyp"] for r in rows]
    assert kinds.count("Remissmissiv") == 3
    assert kinds.count("Remissvar") == 2
    assert kinds.count("Beslut i ärendet") == 3
    assert {"Begäran om anstånd", "Beslut om anstånd", "Avstår från att yttra sig"} <= set(kinds)
    assert kinds.count("Kvittens på remissvar") == 2
    assert "Remissammanställning" in kinds
    assert all(r["Diarienummer"] == "KS 2025/348" for r in rows)
    answer = next(r for r in rows if r["Id"] == "svar-2")
    assert answer["Tidpunkt"] == "2026-12-05T13:00:00+01:00"  # Swedish winter time
    assert answer["Riktning"] == "inkommande"
    assert answer["Remissinstansens diarienummer"] == "SN 2026/77"
    assert answer["Avsändare"] == "Socialnämnden"
    assert answer["Filer"] == "Tjänsteutlåtande åäö.pdf"
    assert len(answer["Kontrollsummor (sha256)"]) == 64
    missiv = next(r for r in rows if r["Handlingstyp"] == "Remissmissiv")
    assert missiv["Riktning"] == "utgående"
    assert missiv["Filer"] == "motion.pdf"


def test_the_json_is_valid_against_its_shipped_schema(demo: Settings) -> None:
    data, count = extract(demo, "json", round_id=1)
    schema = json.loads(register.SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    doc = json.loads(data)
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(doc)
    assert doc["antal"] == count == len(doc["handlingar"]) == 14
    times = [dt.datetime.fromisoformat(h["tidpunkt"]) for h in doc["handlingar"]]
    assert times == sorted(times)


def test_a_period_holds_what_happened_in_it(demo: Settings) -> None:
    day = dt.date(2026, 12, 9)
    _data, count = extract(demo, "csv", from_day=day, to_day=day)
    assert count == 3  # the decision, sent to three remissinstanser that day
    _data, none = extract(demo, "csv", from_day=dt.date(2027, 1, 1))
    assert none == 0


def test_new_since_the_last_extract_is_kept_per_consumer(demo: Settings) -> None:
    first, count = extract(demo, "csv", consumer="diariet")
    assert count == 14
    assert len(rows_of(first)) == 14
    _again, again = extract(demo, "csv", consumer="diariet")
    assert again == 0, "what the diarium has had does not come twice"
    _other, other = extract(demo, "json", consumer="arkivet")
    assert other == 14, "each consumer has its own watermark"


def test_the_cli_writes_an_extract_and_refuses_wrong_input_in_swedish(
    demo: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    target = tmp_path / "utdrag.csv"
    done = runner.invoke(
        app, ["diarium", "extract", "--omgang", "KS 2025/348", "--fil", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert "14 handlingar" in done.output
    assert len(rows_of(target.read_bytes())) == 14

    bad_date = runner.invoke(app, ["diarium", "extract", "--fran", "2026-13-01"])
    assert bad_date.exit_code == 2
    assert "ÅÅÅÅ-MM-DD" in bad_date.output
    nothing = runner.invoke(app, ["diarium", "extract"])
    assert nothing.exit_code == 2
    assert "välj en omgång" in nothing.output
    bad_format = runner.invoke(app, ["diarium", "extract", "--omgang", "1", "--format", "xls"])
    assert bad_format.exit_code == 2
    assert "okänt format" in bad_format.output


def test_an_emailed_answer_is_registered_once_and_its_review_as_drawn_up(
    demo: Settings,
) -> None:
    """The review's version carries the same files as the e-mail: it is not a second
    incoming document."""
    from remiss.answers import review
    from remiss.answers import service as answers
    from remiss.core.terms import NOT_REVIEWED
    from remiss.storage.uploads import UploadLimits, check_files
    from tests.support.documents import pdf_bytes
    from tests.support.rounds import dispatch_of

    came = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
    with session_scope(demo.database_url) as session:
        bromma = dispatch_of(session, "bromma")
        answers.submit_answer(
            session,
            dispatch=bromma,
            values={"position": NOT_REVIEWED, "needs_review": True},
            files=check_files([("svar.pdf", pdf_bytes("Svar från Bromma"))], UploadLimits()),
            store=demo.documents_dir,
            now=came,
            channel="email",
        )
    with session_scope(demo.database_url) as session:
        review.review_answer(
            session,
            dispatch=dispatch_of(session, "bromma"),
            position="tillstyrker",
            att_sats_positions={},
            summary=None,
            reviewer="karin.lindqvist",
            now=came + dt.timedelta(hours=2),
        )
    rows = rows_of(extract(demo, "csv", round_id=1)[0])
    bromma_rows = [r for r in rows if r["Remissinstans (kod)"] == "bromma" and "svar" in r["Id"]]
    assert [(r["Handlingstyp"], r["Riktning"]) for r in bromma_rows] == [
        ("Remissvar", "inkommande"),
        ("Granskning av remissvar", "upprättad"),
    ]
    assert "granskat av karin.lindqvist" in bromma_rows[1]["Beskrivning"]
    assert bromma_rows[0]["Tidpunkt"] == "2026-12-10T10:00:00+01:00"
