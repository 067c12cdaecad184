"""Issue 21, done when: a closed round of the demo is exported for the e-archive, the
package is valid by the E-ARK validator (eark-validator from PyPI), every file and
checksum is read back out of it, and the register extract is imported back into a table
with the right rows. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import sqlite3
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pikepdf
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from remiss.archive import sip
from remiss.cli import app
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Decision, Dispatch, Document, OutgoingMessage
from tests.conftest import settings_in_environment
from tests.support.archive import closed_demo_round
from tests.support.eark import validate

NS = {
    "m": sip.METS_NS,
    "x": sip.XLINK_NS,
    "p": sip.PREMIS_NS,
    "a": sip.ARENDE_NS,
}
OBJID = "remiss-ks-2025-348-omgang-1"


@pytest.fixture
def demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, case_dir: Path
) -> Settings:
    settings = settings_in_environment(monkeypatch, tmp_path / "data", database_url)
    closed_demo_round(settings, case_dir / "arende.yaml")
    return settings


def test_a_closed_demo_round_goes_to_the_e_archive_and_its_extract_back_into_a_table(
    demo: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "leverans"
    out.mkdir()
    runner = CliRunner()
    done = runner.invoke(app, ["archive", "KS 2025/348", "--mapp", str(out)])
    assert done.exit_code == 0, done.output
    (package,) = out.glob("*.zip")
    assert package.name.startswith(OBJID)

    valid, messages = validate(package)
    assert valid, "\n".join(messages)

    z = zipfile.ZipFile(package)
    names = set(z.namelist())
    mets = ET.fromstring(z.read(f"{OBJID}/METS.xml"))  # noqa: S314
    assert mets.get("OBJID") == OBJID

    # Every file the METS lists is there, with its size and sha256.
    listed: dict[str, str] = {}
    for f in mets.iterfind(".//m:fileSec//m:file", NS):
        href = str(f.find("m:FLocat", NS).get(f"{{{sip.XLINK_NS}}}href"))  # type: ignore[union-attr]
        data = z.read(f"{OBJID}/{href}")
        assert hashlib.sha256(data).hexdigest().upper() == f.get("CHECKSUM"), href
        assert len(data) == int(f.get("SIZE", "-1")), href
        listed[href] = hashlib.sha256(data).hexdigest()
    for ref in mets.iterfind(".//m:mdRef", NS):
        data = z.read(f"{OBJID}/{ref.get(f'{{{sip.XLINK_NS}}}href')}")
        assert hashlib.sha256(data).hexdigest().upper() == ref.get("CHECKSUM")
    # ... and nothing is in the package that the METS does not list.
    metadata = {f"{OBJID}/{p}" for p in ("METS.xml", "metadata/descriptive/arende.xml",
                                          "metadata/preservation/premis.xml")}  # fmt: skip
    assert names - metadata == {f"{OBJID}/{href}" for href in listed}

    # Every stored document of the round is in it, as stored: the handlingar, every answer
    # version's files, the protokollsutdrag.
    with session_scope(demo.database_url) as session:
        stored = set(
            session.scalars(
                select(Document.sha256).where(
                    Document.case_id.is_not(None)
                    | Document.answer_id.in_(select(Answer.id))
                    | Document.decision_id.in_(select(Decision.id))
                )
            )
        )
        keys = set(
            session.scalars(
                select(OutgoingMessage.idempotency_key).join(Dispatch).where(Dispatch.round_id == 1)
            )
        )
    assert stored <= set(listed.values())

    # PREMIS holds each file's fixity, as the METS does.
    premis = ET.fromstring(z.read(f"{OBJID}/metadata/preservation/premis.xml"))  # noqa: S314
    fixity = {
        o.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=NS): o.findtext(
            "p:objectCharacteristics/p:fixity/p:messageDigest", namespaces=NS
        )
        for o in premis.iterfind("p:object", NS)
    }
    assert fixity == {href: digest for href, digest in listed.items() if "rep1" in href}
    names_as_received = {
        o.findtext("p:originalName", namespaces=NS) for o in premis.iterfind("p:object", NS)
    }
    assert "Tjänsteutlåtande åäö.pdf" in names_as_received
    # Every message sent is an event with its key; the event log is there too.
    event_ids = {
        e.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=NS)
        for e in premis.iterfind("p:event", NS)
    }
    assert {f"meddelande-{k}" for k in keys} <= event_ids
    assert any(str(i).startswith("handelse-") for i in event_ids)

    # The case and both diarienummer.
    arende = ET.fromstring(z.read(f"{OBJID}/metadata/descriptive/arende.xml"))  # noqa: S314
    assert arende.findtext("a:diarienummer", namespaces=NS) == "KS 2025/348"
    their = [
        i.findtext("a:diarienummer", namespaces=NS)
        for i in arende.iterfind(".//a:remissinstans", NS)
    ]
    assert "SN 2026/77" in their

    # The remissammanställning as PDF/A-2a.
    (report,) = [
        h for h in listed if h.startswith("representations/rep1/data/remissammanstallning/")
    ]
    with pikepdf.open(io.BytesIO(z.read(f"{OBJID}/{report}"))) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2"
        assert meta.get("pdfaid:conformance") == "A"

    # The register extract, from the CLI, imported into a table as a diarium would.
    extract = tmp_path / "utdrag.csv"
    assert (
        runner.invoke(app, ["diarium", "extract", "--omgang", "1", "--fil", str(extract)]).exit_code
        == 0
    )
    rows = list(
        csv.reader(io.StringIO(extract.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";")
    )
    header, body = rows[0], rows[1:]
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE diarium ({', '.join(f'c{i} TEXT' for i in range(len(header)))})")
    db.executemany(f"INSERT INTO diarium VALUES ({', '.join('?' * len(header))})", body)  # noqa: S608
    col = {name: f"c{i}" for i, name in enumerate(header)}
    count = db.execute("SELECT COUNT(*) FROM diarium").fetchone()[0]
    assert count == 14
    by_kind = dict(
        db.execute(f"SELECT {col['Handlingstyp']}, COUNT(*) FROM diarium GROUP BY 1").fetchall()  # noqa: S608
    )
    assert by_kind == {
        "Remissmissiv": 3,
        "Begäran om anstånd": 1,
        "Beslut om anstånd": 1,
        "Avstår från att yttra sig": 1,
        "Remissvar": 2,
        "Kvittens på remissvar": 2,
        "Remissammanställning": 1,
        "Beslut i ärendet": 3,
    }
    # Each answer file's checksum in the extract is the file in the package.
    for files, sums in db.execute(
        f"SELECT {col['Filer']}, {col['Kontrollsummor (sha256)']} FROM diarium "  # noqa: S608
        f"WHERE {col['Handlingstyp']} = 'Remissvar'"
    ):
        for digest in sums.split(" | "):
            assert digest in listed.values(), files
    # The package carries the same extract.
    packed = z.read(f"{OBJID}/representations/rep1/data/register/diarieutdrag.csv")
    assert len(list(csv.reader(io.StringIO(packed.decode("utf-8-sig")), delimiter=";"))) == 15


def test_the_validator_refuses_a_broken_package(demo: Settings, tmp_path: Path) -> None:
    """The check has teeth: a package whose METS lost its identifier (a MUST) is invalid."""
    package = sip.build_package(demo, round_id=1, now=dt.datetime.now(dt.UTC))
    folder = tmp_path / "uppackat"
    zipfile.ZipFile(package).extractall(folder)
    mets_path = folder / OBJID / "METS.xml"
    tree = ET.parse(mets_path)  # noqa: S314
    root = tree.getroot()
    del root.attrib["OBJID"]
    tree.write(mets_path, xml_declaration=True, encoding="utf-8")
    valid, _messages = validate(folder / OBJID)
    assert not valid


def test_an_open_round_is_not_archived(demo: Settings, case_dir: Path) -> None:
    from remiss.rounds import start as rounds_start

    second = rounds_start.prepare_round(
        demo,
        case_dir / "arende.yaml",
        now=dt.datetime.now(dt.UTC),
        deadline="2027-03-31",
        new_round=True,
    )
    result = CliRunner().invoke(app, ["archive", str(second)])
    assert result.exit_code == 2
    assert "inte avslutad" in result.output
