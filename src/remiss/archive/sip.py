"""A closed round as an E-ARK SIP (CSIP 2.1.0) for the e-archive.

The package, zipped under one folder named by its OBJID:

    METS.xml                              the package: what each file is, its sha256 and size
    metadata/descriptive/arende.xml       the case, both diarienummer, every remissinstans
    metadata/preservation/premis.xml      PREMIS 3: every file with its fixity, every event
    representations/rep1/data/
        arende/handlingar/…               the handlingar sent with the remiss
        svar/<kod>/version-<n>/…          every answer version's files, as received
        beslut/<n>/…                      the decision's protokollsutdrag
        remissammanstallning/….pdf        the remissammanställning as PDF/A-2a
        logg/meddelanden.json             every e-mail sent: its key, kind and time
        logg/svar.json                    every answer version: time, channel, files, sha256
        logg/handelser.json               the event log of every dispatch
        logg/atgardslogg.json             who did what in the workspace
        register/diarieutdrag.csv|json    the register extract of the round

The remissammanställning goes in as PDF/A-2a: PDF/A for long-term preservation (fonts
embedded, no external dependencies), level A so that it stays tagged and readable by a
screen reader like the PDF/UA copy the workspace hands out. PDF/A-3 would only add
embedded files, which the package carries beside it instead.

Stored files are read through their checksums: a file that no longer matches refuses the
package rather than archiving something else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.archive import register
from remiss.audit.log import ACTION_LABELS
from remiss.core.errors import ConflictError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import MessageState, RoundState
from remiss.db.engine import read_scope
from remiss.db.models import AuditEntry, Decision, Document, Round
from remiss.report.content import build_report
from remiss.report.render import render_html, slug
from remiss.storage.documents import document_path, read_verified

ARCHIVE_DIR = "arkiv"
PDF_VARIANT = "pdf/a-2a"
SOFTWARE = "remiss"

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
SIP_NS = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS_NS = "http://www.loc.gov/premis/v3"
ARENDE_NS = "urn:remiss:arende:1"

for _prefix, _uri in (
    ("", METS_NS),
    ("xlink", XLINK_NS),
    ("csip", CSIP_NS),
    ("sip", SIP_NS),
    ("xsi", XSI_NS),
    ("premis", PREMIS_NS),
):
    ET.register_namespace(_prefix, _uri)

SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".json": "application/json",
    ".csv": "text/csv",
    ".xml": "application/xml",
}


GROUPS = {
    "Documentation": "grp-documentation",
    "Schemas": "grp-schemas",
    "Representations/rep1": "grp-rep1",
}


@dataclass(frozen=True)
class PackageFile:
    path: str  # inside representations/rep1/data/, or from the root for the other groups
    data: bytes
    mimetype: str
    created: dt.datetime
    original_name: str
    group: str = "Representations/rep1"

    @property
    def href(self) -> str:
        if self.group == "Representations/rep1":
            return f"representations/rep1/data/{self.path}"
        return self.path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def safe_name(name: str) -> str:
    """A file name an archive takes on any system: ASCII letters, digits, . _ -. The name as
    received is kept in PREMIS (originalName)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    table = str.maketrans("åäöÅÄÖéÉüÜ", "aaoAAOeEuU")
    cleaned = SAFE.sub("_", stem.translate(table)).strip("_") or "fil"
    return f"{cleaned}.{SAFE.sub('', ext)}" if ext else cleaned


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


def object_id(rnd: Round) -> str:
    return f"remiss-{slug(rnd.case.diarienummer)}-omgang-{rnd.id}"


def _stored(doc: Document, settings: Settings) -> bytes:
    return read_verified(document_path(settings.documents_dir, doc.storage_path), doc.sha256)


def _unique(path: str, taken: set[str]) -> str:
    candidate, n = path, 1
    while candidate in taken:
        n += 1
        stem, dot, ext = path.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot else f"{path}-{n}"
    taken.add(candidate)
    return candidate


def collect(session: Session, settings: Settings, rnd: Round, *, now: dt.datetime) -> Contents:
    """Everything the package holds, read in one transaction."""
    taken: set[str] = set()
    files: list[PackageFile] = []

    def add(folder: str, name: str, data: bytes, created: dt.datetime, mimetype: str) -> None:
        path = _unique(f"{folder}/{safe_name(name)}", taken)
        files.append(PackageFile(path, data, mimetype, created, name))

    case = rnd.case
    for doc in case.documents:
        add(
            "arende/handlingar",
            doc.filename,
            _stored(doc, settings),
            doc.created_at,
            doc.content_type,
        )
    answers: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    instanser: list[dict[str, Any]] = []
    for d in rnd.dispatches:
        code = d.remissinstans.code
        instanser.append(
            {
                "kod": code,
                "namn": d.name,
                "epost": d.email,
                "diarienummer": d.their_diarienummer,
                "svar_senast": d.deadline.isoformat(),
                "skickad": _iso(d.sent_at) if d.sent_at else None,
                "avstod": _iso(d.declined_at) if d.declined_at else None,
            }
        )
        for a in d.answers:
            folder = f"svar/{safe_name(code)}/version-{a.version}"
            entry_files = []
            for doc in a.documents:
                data = _stored(doc, settings)
                add(folder, doc.filename, data, doc.created_at, doc.content_type)
                entry_files.append(
                    {
                        "namn": doc.filename,
                        "sokvag": files[-1].path,
                        "sha256": doc.sha256,
                        "storlek": doc.size,
                    }
                )
            answers.append(
                {
                    "remissinstans": code,
                    "version": a.version,
                    "inkom": _iso(a.submitted_at),
                    "kanal": a.channel,
                    "stallningstagande": a.position,
                    "per_att_sats": a.att_sats_positions,
                    "sammanfattning": a.summary,
                    "beslutsdatum": a.decision_date.isoformat() if a.decision_date else None,
                    "paragraf": a.decision_paragraph,
                    "gemensamt_med": a.joint_with,
                    "reservationer": a.reservationer,
                    "sarskilda_uttalanden": a.sarskilda_uttalanden,
                    "kontakt": a.contact_name,
                    "filer": entry_files,
                }
            )
        for m in d.messages:
            messages.append(
                {
                    "nyckel": m.idempotency_key,
                    "message_id_del": m.message_ref,
                    "slag": m.kind,
                    "remissinstans": code,
                    "mottagare": d.email,
                    "status": m.state.value,
                    "skickat": _iso(m.sent_at) if m.sent_at else None,
                }
            )
        for e in d.events:
            events.append(
                {
                    "id": e.id,
                    "remissinstans": code,
                    "tidpunkt": _iso(e.at),
                    "slag": e.kind.value,
                    "detaljer": e.detail,
                }
            )
    decisions = list(
        session.scalars(select(Decision).where(Decision.round_id == rnd.id).order_by(Decision.id))
    )
    for n, dec in enumerate(decisions, start=1):
        for doc in dec.documents:
            add(
                f"beslut/{n}",
                doc.filename,
                _stored(doc, settings),
                doc.created_at,
                doc.content_type,
            )
    report = build_report(rnd, now=now, tz=settings.timezone)
    from remiss.report import pdftags

    pdf, _ = pdftags.write_pdf(render_html(report, settings), variant=PDF_VARIANT)
    add(
        "remissammanstallning",
        f"remissammanstallning-{slug(case.diarienummer)}.pdf",
        pdf,
        now,
        "application/pdf",
    )
    audit = [
        {
            "tidpunkt": _iso(a.at),
            "anvandare": a.user_name,
            "atgard": a.action,
            "beskrivning": ACTION_LABELS.get(a.action, a.action),
            "detaljer": a.detail,
        }
        for a in session.scalars(
            select(AuditEntry).where(AuditEntry.round_id == rnd.id).order_by(AuditEntry.id)
        )
    ]
    items = register.round_items(
        session, rnd, sender=settings.sender_name, data_dir=settings.data_dir
    )
    tz = settings.timezone
    add("logg", "meddelanden.json", _json(messages), now, "application/json")
    add("logg", "svar.json", _json(answers), now, "application/json")
    add(
        "logg",
        "handelser.json",
        _json(sorted(events, key=lambda e: e["id"])),
        now,
        "application/json",
    )
    add("logg", "atgardslogg.json", _json(audit), now, "application/json")
    add("register", "diarieutdrag.csv", register.to_csv(items, tz=tz), now, "text/csv")
    add(
        "register",
        "diarieutdrag.json",
        register.to_json(items, tz=tz, created=now),
        now,
        "application/json",
    )
    case_info = {
        "diarienummer": case.diarienummer,
        "rubrik": case.rubrik,
        "arendetyp": case.arendetyp_label,
        "vackt": case.vackt.isoformat() if case.vackt else None,
        "handlaggare": case.handlaggare_namn,
        "motionarer": [f"{m.namn} ({m.parti})" for m in case.motionarer],
        "att_satser": [s.text for s in case.att_satser],
        "omgang": rnd.id,
        "omgang_uid": rnd.uid,
        "startad": _iso(rnd.started_at),
        "avslutad": _iso(rnd.closed_at) if rnd.closed_at else None,
        "svar_senast": rnd.svar_senast.isoformat(),
        "beslut": [
            {
                "organ": dec.organ,
                "beslutsdatum": dec.beslutsdatum.isoformat(),
                "paragraf": dec.paragraf,
                "text": dec.text,
            }
            for dec in decisions
        ],
    }
    return Contents(
        object_id=object_id(rnd),
        label=f"{case.diarienummer}: {case.rubrik}",
        case=case_info,
        instanser=instanser,
        files=files,
        events=events,
        messages=messages,
        sender=settings.sender_name,
    )


@dataclass(frozen=True)
class Contents:
    object_id: str
    label: str
    case: dict[str, Any]
    instanser: list[dict[str, Any]]
    files: list[PackageFile]
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    sender: str
    extra: tuple[PackageFile, ...] = ()


# --- The metadata files -------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def descriptive_xml(contents: Contents) -> bytes:
    """The case and both diarienummer, in elements named as the diarium names them."""
    a = f"{{{ARENDE_NS}}}"
    ET.register_namespace("arende", ARENDE_NS)
    root = ET.Element(f"{a}arende")
    case = contents.case
    for key in ("diarienummer", "rubrik", "arendetyp", "vackt", "handlaggare"):
        _sub(root, f"{a}{key}", case[key])
    motionarer = _sub(root, f"{a}motionarer")
    for name in case["motionarer"]:
        _sub(motionarer, f"{a}motionar", name)
    satser = _sub(root, f"{a}att_satser")
    for n, text in enumerate(case["att_satser"], start=1):
        _sub(satser, f"{a}att_sats", text, nummer=str(n))
    omgang = _sub(root, f"{a}remissomgang", nummer=str(case["omgang"]), uid=case["omgang_uid"])
    for key in ("startad", "avslutad", "svar_senast"):
        _sub(omgang, f"{a}{key}", case[key])
    _sub(root, f"{a}avsandare", contents.sender)
    instanser = _sub(root, f"{a}remissinstanser")
    for inst in contents.instanser:
        el = _sub(instanser, f"{a}remissinstans", kod=inst["kod"])
        for key in ("namn", "epost", "diarienummer", "svar_senast", "skickad", "avstod"):
            _sub(el, f"{a}{key}", inst[key])
    beslut = _sub(root, f"{a}beslut_i_arendet")
    for dec in case["beslut"]:
        el = _sub(beslut, f"{a}beslut")
        for key in ("organ", "beslutsdatum", "paragraf", "text"):
            _sub(el, f"{a}{key}", dec[key])
    return _xml(root)


def premis_xml(contents: Contents, *, now: dt.datetime) -> bytes:
    """PREMIS 3: each file with its sha256, size, format and name as received; each event and
    each e-mail sent as an event; the two agents."""
    p = f"{{{PREMIS_NS}}}"
    root = ET.Element(f"{p}premis", {"version": "3.0"})
    for f in contents.files:
        obj = _sub(root, f"{p}object", **{f"{{{XSI_NS}}}type": "premis:file"})
        ident = _sub(obj, f"{p}objectIdentifier")
        _sub(ident, f"{p}objectIdentifierType", "local")
        _sub(ident, f"{p}objectIdentifierValue", f"representations/rep1/data/{f.path}")
        chars = _sub(obj, f"{p}objectCharacteristics")
        fixity = _sub(chars, f"{p}fixity")
        _sub(fixity, f"{p}messageDigestAlgorithm", "SHA-256")
        _sub(fixity, f"{p}messageDigest", f.sha256)
        _sub(chars, f"{p}size", str(len(f.data)))
        fmt = _sub(chars, f"{p}format")
        designation = _sub(fmt, f"{p}formatDesignation")
        _sub(designation, f"{p}formatName", f.mimetype)
        if f.path.startswith("remissammanstallning/"):
            _sub(designation, f"{p}formatVersion", PDF_VARIANT.upper().replace("PDF/", "PDF/"))
        _sub(obj, f"{p}originalName", f.original_name)
    agent_ids = {"software": SOFTWARE, "organisation": contents.sender}

    def event(ident: str, kind: str, at: str, detail: str, agent: str) -> None:
        ev = _sub(root, f"{p}event")
        eid = _sub(ev, f"{p}eventIdentifier")
        _sub(eid, f"{p}eventIdentifierType", "local")
        _sub(eid, f"{p}eventIdentifierValue", ident)
        _sub(ev, f"{p}eventType", kind)
        _sub(ev, f"{p}eventDateTime", at)
        info = _sub(ev, f"{p}eventDetailInformation")
        _sub(info, f"{p}eventDetail", detail)
        link = _sub(ev, f"{p}linkingAgentIdentifier")
        _sub(link, f"{p}linkingAgentIdentifierType", "local")
        _sub(link, f"{p}linkingAgentIdentifierValue", agent_ids[agent])

    for e in contents.events:
        detail = json.dumps(
            {"remissinstans": e["remissinstans"], **e["detaljer"]}, ensure_ascii=False
        )
        event(f"handelse-{e['id']}", e["slag"], e["tidpunkt"], detail, "software")
    for m in contents.messages:
        if m["status"] == MessageState.SENT and m["skickat"]:
            detail = f"{m['slag']} till {m['mottagare']} ({m['remissinstans']})"
            event(
                f"meddelande-{m['nyckel']}", "e-post skickad", m["skickat"], detail, "organisation"
            )
    event(f"paket-{contents.object_id}", "creation", _iso(now), "E-ARK SIP skapat", "software")
    for key, name, kind in (
        ("software", SOFTWARE, "software"),
        ("organisation", contents.sender, "organization"),
    ):
        agent = _sub(root, f"{p}agent")
        aid = _sub(agent, f"{p}agentIdentifier")
        _sub(aid, f"{p}agentIdentifierType", "local")
        _sub(aid, f"{p}agentIdentifierValue", agent_ids[key])
        _sub(agent, f"{p}agentName", name)
        _sub(agent, f"{p}agentType", kind)
    return _xml(root)


def mets_xml(
    contents: Contents, metadata: dict[str, tuple[bytes, str]], *, now: dt.datetime
) -> bytes:
    """The root METS.xml: the package's structure, every file with its size and sha256."""
    m, x, c = f"{{{METS_NS}}}", f"{{{XLINK_NS}}}", f"{{{CSIP_NS}}}"
    created = _iso(now)
    root = ET.Element(
        f"{m}mets",
        {
            "OBJID": contents.object_id,
            "LABEL": contents.label,
            "TYPE": "Other",
            f"{c}OTHERTYPE": "Remissärende",
            f"{c}CONTENTINFORMATIONTYPE": "MIXED",
            "PROFILE": "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml",
            f"{{{XSI_NS}}}schemaLocation": "http://www.loc.gov/METS/ "
            "http://www.loc.gov/standards/mets/mets.xsd "
            "http://www.w3.org/1999/xlink http://www.loc.gov/standards/mets/xlink.xsd "
            "https://DILCIS.eu/XML/METS/CSIPExtensionMETS "
            "https://earkcsip.dilcis.eu/schema/DILCISExtensionMETS.xsd "
            "https://DILCIS.eu/XML/METS/SIPExtensionMETS "
            "https://earksip.dilcis.eu/schema/DILCISExtensionSIPMETS.xsd",
        },
    )
    hdr = _sub(
        root,
        f"{m}metsHdr",
        CREATEDATE=created,
        LASTMODDATE=created,
        RECORDSTATUS="NEW",
        **{f"{c}OAISPACKAGETYPE": "SIP"},
    )
    software = _sub(hdr, f"{m}agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    _sub(software, f"{m}name", SOFTWARE)
    _sub(
        software,
        f"{m}note",
        _version(),
        **{f"{c}NOTETYPE": "SOFTWARE VERSION"},
    )
    org = _sub(hdr, f"{m}agent", ROLE="ARCHIVIST", TYPE="ORGANIZATION")
    _sub(org, f"{m}name", contents.sender)

    def md_ref(parent: ET.Element, path: str, data: bytes, mdtype: str, **extra: str) -> None:
        _sub(
            parent,
            f"{m}mdRef",
            LOCTYPE="URL",
            MDTYPE=mdtype,
            MIMETYPE="application/xml",
            SIZE=str(len(data)),
            CREATED=created,
            CHECKSUM=hashlib.sha256(data).hexdigest().upper(),
            CHECKSUMTYPE="SHA-256",
            **{f"{x}type": "simple", f"{x}href": path},
            **extra,
        )

    dmd = _sub(root, f"{m}dmdSec", ID="dmd-arende", CREATED=created, STATUS="CURRENT")
    data, path = metadata["descriptive"]
    md_ref(dmd, path, data, "OTHER", OTHERMDTYPE="remiss-arende")
    amd = _sub(root, f"{m}amdSec", ID="amd-1")
    prov = _sub(amd, f"{m}digiprovMD", ID="premis-1", STATUS="CURRENT")
    data, path = metadata["preservation"]
    md_ref(prov, path, data, "PREMIS")
    file_sec = _sub(root, f"{m}fileSec", ID="filesec-1")
    groups = {
        use: _sub(
            file_sec,
            f"{m}fileGrp",
            ID=ident,
            USE=use,
            **{f"{c}CONTENTINFORMATIONTYPE": "OTHER", f"{c}OTHERCONTENTINFORMATIONTYPE": "remiss"},
        )
        for use, ident in GROUPS.items()
    }
    for n, f in enumerate([*contents.extra, *contents.files], start=1):
        el = _sub(
            groups[f.group],
            f"{m}file",
            ID=f"fil-{n}",
            MIMETYPE=f.mimetype,
            SIZE=str(len(f.data)),
            CREATED=_iso(f.created),
            CHECKSUM=f.sha256.upper(),
            CHECKSUMTYPE="SHA-256",
        )
        _sub(
            el,
            f"{m}FLocat",
            LOCTYPE="URL",
            **{f"{x}type": "simple", f"{x}href": f.href},
        )
    smap = _sub(root, f"{m}structMap", ID="struct-1", TYPE="PHYSICAL", LABEL="CSIP")
    top = _sub(smap, f"{m}div", ID="div-root", LABEL=contents.object_id)
    _sub(top, f"{m}div", ID="div-metadata", LABEL="Metadata", DMDID="dmd-arende", ADMID="premis-1")
    for use, ident in GROUPS.items():
        div = _sub(top, f"{m}div", ID=f"div-{ident}", LABEL=use.split("/")[0])
        _sub(div, f"{m}fptr", FILEID=ident)
    return _xml(root)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("remiss")
    except PackageNotFoundError:
        return "0"


# --- The package -----------------------------------------------------------------------------


DOCUMENTATION = """Remissomgång {object_id}: {label}

Paketet är ett E-ARK SIP (CSIP 2.1.0) från remisstjänsten hos {sender}.

METS.xml                            paketets struktur: varje fil med storlek och sha256
metadata/descriptive/arende.xml     ärendet, båda diarienumren, remissinstanserna, beslutet
metadata/preservation/premis.xml    PREMIS 3: varje fil med kontrollsumma, varje händelse
representations/rep1/data/
  arende/handlingar/                handlingarna som skickades med remissen
  svar/<kod>/version-<n>/           varje version av varje remissvar, som det kom in
  beslut/<n>/                       protokollsutdraget med beslutet i ärendet
  remissammanstallning/             remissammanställningen som PDF/A-2a
  logg/meddelanden.json             varje e-postmeddelande: nyckel, slag och tidpunkt
  logg/svar.json                    varje svarsversion: tidpunkt, kanal, filer, sha256
  logg/handelser.json               händelseloggen för varje remissinstans
  logg/atgardslogg.json             vem som gjorde vad i arbetsytan
  register/diarieutdrag.csv, .json  registerutdraget för omgången
schemas/                            scheman för arende.xml och diarieutdraget (JSON)

Filnamnen är omskrivna till ASCII; namnet som filen kom in med står i premis.xml
(originalName). Tidpunkter i METS och PREMIS är i UTC, i registerutdraget i svensk tid.
"""


def _documentation(contents: Contents, now: dt.datetime) -> tuple[PackageFile, ...]:
    here = Path(__file__).parent
    text = DOCUMENTATION.format(
        object_id=contents.object_id, label=contents.label, sender=contents.sender
    )
    return (
        PackageFile(
            "documentation/om-paketet.txt",
            text.encode("utf-8"),
            "text/plain",
            now,
            "om-paketet.txt",
            "Documentation",
        ),
        PackageFile(
            "schemas/arende.xsd",
            (here / "arende.xsd").read_bytes(),
            "application/xml",
            now,
            "arende.xsd",
            "Schemas",
        ),
        PackageFile(
            "schemas/diarium.schema.json",
            register.SCHEMA_PATH.read_bytes(),
            "application/json",
            now,
            "diarium.schema.json",
            "Schemas",
        ),
    )


def package_folder(settings: Settings, round_id: int) -> Path:
    return settings.data_dir / ARCHIVE_DIR / f"omgang-{round_id}"


def latest_package(settings: Settings, round_id: int) -> Path | None:
    """The newest package built for the round, or None."""
    folder = package_folder(settings, round_id)
    if not folder.is_dir():
        return None
    packages = sorted(p for p in folder.glob("*.zip") if not p.name.startswith("."))
    return packages[-1] if packages else None


def build_package(settings: Settings, *, round_id: int, now: dt.datetime) -> Path:
    """Write the round's SIP as a zip under the data folder; its path. The round must be
    closed: an archived round is one where nothing more comes in."""
    with read_scope(settings.database_url) as session:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise NotFoundError(f"omgång {round_id} finns inte")
        if rnd.state != RoundState.CLOSED:
            raise ConflictError(
                f"Omgång {round_id} är inte avslutad. Avsluta omgången innan den lämnas till "
                "e-arkivet."
            )
        contents = collect(session, settings, rnd, now=now)
    contents = replace(contents, extra=_documentation(contents, now))
    descriptive = descriptive_xml(contents)
    preservation = premis_xml(contents, now=now)
    metadata = {
        "descriptive": (descriptive, "metadata/descriptive/arende.xml"),
        "preservation": (preservation, "metadata/preservation/premis.xml"),
    }
    mets = mets_xml(contents, metadata, now=now)
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    target = package_folder(settings, round_id) / f"{contents.object_id}-{stamp}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            base = contents.object_id

            def put(path: str, data: bytes) -> None:
                info = zipfile.ZipInfo(f"{base}/{path}", date_time=now.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)

            put("METS.xml", mets)
            put("metadata/descriptive/arende.xml", descriptive)
            put("metadata/preservation/premis.xml", preservation)
            for f in [*contents.extra, *contents.files]:
                put(f.href, f.data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
