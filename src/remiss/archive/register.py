"""The register extract: every document that came in or went out, as a diarium takes it.

One item per document: the remissmissiv and every other e-mail sent (reminders, kvittenser,
anstånd decisions, the decision on the case), each answer version with its files, anstånd
requests, a remissinstans that declines, and each remissammanställning compiled. Each item
carries what registration needs (OSL 5 kap.): when it was received or sent, both
diarienummer, sender and recipient, a short description, and the files with their sha256.

As CSV for Excel (UTF-8 with BOM, semicolons, CRLF) and as JSON whose schema ships beside
this module (`diarium.schema.json`). A consumer named in `new_since_last` gets only what is
newer than its watermark, which the same transaction moves on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.core import dates
from remiss.core.errors import InputError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import PAMINNELSE_PREFIX, MessageKind, MessageState
from remiss.core.terms import position_label
from remiss.db.models import (
    Answer,
    Decision,
    Dispatch,
    ExtractWatermark,
    OutgoingMessage,
    Round,
)
from remiss.rounds.timeline import report_versions

SCHEMA_PATH = Path(__file__).with_name("diarium.schema.json")
SCHEMA_ID = "remiss.diarium/1"

INCOMING = "inkommande"
OUTGOING = "utgående"
DRAWN_UP = "upprättad"

MESSAGE_TYPES: dict[str, str] = {
    MessageKind.MISSIV: "Remissmissiv",
    MessageKind.KVITTENS: "Kvittens på remissvar",
    MessageKind.ANSTAND_BESLUT: "Beslut om anstånd",
    MessageKind.GEMENSAMT_SVAR: "Begäran om bekräftelse av gemensamt svar",
    MessageKind.BESLUT: "Beslut i ärendet",
    MessageKind.NY_SVARSTID: "Ny svarstid",
}

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Id"),
    ("tidpunkt", "Tidpunkt"),
    ("riktning", "Riktning"),
    ("handlingstyp", "Handlingstyp"),
    ("diarienummer", "Diarienummer"),
    ("remissinstans_diarienummer", "Remissinstansens diarienummer"),
    ("avsandare", "Avsändare"),
    ("mottagare", "Mottagare"),
    ("beskrivning", "Beskrivning"),
    ("filer", "Filer"),
    ("sha256", "Kontrollsummor (sha256)"),
    ("omgang", "Omgång"),
    ("remissinstans", "Remissinstans (kod)"),
)


@dataclass(frozen=True)
class FileRef:
    namn: str
    sha256: str
    storlek: int


@dataclass(frozen=True)
class Item:
    """One registered document."""

    id: str  # stable: the same document has the same id in every extract
    at: dt.datetime  # UTC
    riktning: str
    handlingstyp: str
    diarienummer: str
    remissinstans_diarienummer: str | None
    avsandare: str
    mottagare: str
    beskrivning: str
    omgang: int
    remissinstans: str | None
    filer: tuple[FileRef, ...] = field(default=())


def _case_files(rnd: Round) -> tuple[FileRef, ...]:
    return tuple(FileRef(d.filename, d.sha256, d.size) for d in rnd.case.documents)


def _message_item(
    m: OutgoingMessage, d: Dispatch, rnd: Round, sender: str, decision_files: tuple[FileRef, ...]
) -> Item:
    assert m.sent_at is not None
    if m.kind.startswith(PAMINNELSE_PREFIX):
        kind = "Påminnelse"
    else:
        kind = MESSAGE_TYPES.get(m.kind, m.kind)
    files: tuple[FileRef, ...] = ()
    if m.kind == MessageKind.MISSIV:
        files = _case_files(rnd)
    elif m.kind == MessageKind.BESLUT:
        files = decision_files
    rubrik = rnd.case.rubrik
    return Item(
        id=f"utg-{m.idempotency_key}",
        at=m.sent_at,
        riktning=OUTGOING,
        handlingstyp=kind,
        diarienummer=rnd.case.diarienummer,
        remissinstans_diarienummer=d.their_diarienummer,
        avsandare=sender,
        mottagare=f"{d.name} <{d.email}>",
        beskrivning=f"{kind} till {d.name}: {rubrik}",
        omgang=rnd.id,
        remissinstans=d.remissinstans.code,
        filer=files,
    )


def _decision_files(session: Session, rnd: Round) -> tuple[FileRef, ...]:
    decisions = session.scalars(
        select(Decision).where(Decision.round_id == rnd.id).order_by(Decision.id)
    )
    return tuple(
        FileRef(doc.filename, doc.sha256, doc.size) for dec in decisions for doc in dec.documents
    )


def round_items(session: Session, rnd: Round, *, sender: str, data_dir: Path) -> list[Item]:
    """Every document of one round, oldest first."""
    dnr = rnd.case.diarienummer
    items: list[Item] = []
    decision_files = _decision_files(session, rnd)
    for d in rnd.dispatches:
        code = d.remissinstans.code
        for m in d.messages:
            if m.state == MessageState.SENT and m.sent_at is not None:
                items.append(_message_item(m, d, rnd, sender, decision_files))
        for a in d.answers:
            items.append(_answer_item(a, d, rnd, sender))
        for an in d.anstand:
            items.append(
                Item(
                    id=f"anstand-{an.id}",
                    at=an.requested_at,
                    riktning=INCOMING,
                    handlingstyp="Begäran om anstånd",
                    diarienummer=dnr,
                    remissinstans_diarienummer=d.their_diarienummer,
                    avsandare=_who(d, an.requested_by),
                    mottagare=sender,
                    beskrivning=f"{d.name} begär anstånd till {an.requested_date.isoformat()}: "
                    f"{an.reason}",
                    omgang=rnd.id,
                    remissinstans=code,
                )
            )
        if d.declined_at is not None:
            reason = f": {d.decline_reason}" if d.decline_reason else ""
            items.append(
                Item(
                    id=f"avstar-{d.id}",
                    at=d.declined_at,
                    riktning=INCOMING,
                    handlingstyp="Avstår från att yttra sig",
                    diarienummer=dnr,
                    remissinstans_diarienummer=d.their_diarienummer,
                    avsandare=_who(d, d.contact_name),
                    mottagare=sender,
                    beskrivning=f"{d.name} avstår från att yttra sig{reason}",
                    omgang=rnd.id,
                    remissinstans=code,
                )
            )
    for version in report_versions(data_dir, round_id=rnd.id):
        items.append(
            Item(
                id=f"sammanstallning-{rnd.id}-{version.stamp}",
                at=version.compiled_at,
                riktning=DRAWN_UP,
                handlingstyp="Remissammanställning",
                diarienummer=dnr,
                remissinstans_diarienummer=None,
                avsandare=sender,
                mottagare=sender,
                beskrivning=f"Remissammanställning ({(version.status or 'utan status').lower()}): "
                f"{rnd.case.rubrik}",
                omgang=rnd.id,
                remissinstans=None,
                filer=tuple(
                    FileRef(path.name, version.sha256.get(fmt, ""), path.stat().st_size)
                    for fmt, path in version.files.items()
                ),
            )
        )
    items.sort(key=lambda i: (i.at, i.id))
    return items


def _who(d: Dispatch, person: str | None) -> str:
    return f"{d.name} ({person})" if person else d.name


def _answer_item(a: Answer, d: Dispatch, rnd: Round, sender: str) -> Item:
    """An answer version as it came in; a review's version (a handläggare's reading of an
    e-mailed answer) as drawn up here; an e-mail judged not to be an answer as what it is."""
    how = "med e-post" if a.channel == "email" else "via svarssidan"
    kind, direction, frm, to = "Remissvar", INCOMING, _who(d, a.contact_name), sender
    text = f"Remissvar från {d.name}, version {a.version}, {how}: {position_label(a.position)}"
    if a.reviewed_by:
        kind, direction, frm, to = "Granskning av remissvar", DRAWN_UP, sender, sender
        text = (
            f"Remissvar från {d.name} som kom med e-post, granskat av {a.reviewed_by} "
            f"(version {a.version}): {position_label(a.position)}"
        )
    if getattr(a, "rejected_at", None) is not None:
        kind = "Inkommet e-postmeddelande"
        text = f"E-post från {d.name} som vid granskningen bedömdes inte vara ett remissvar"
    return Item(
        id=f"svar-{a.id}",
        at=a.submitted_at,
        riktning=direction,
        handlingstyp=kind,
        diarienummer=rnd.case.diarienummer,
        remissinstans_diarienummer=d.their_diarienummer,
        avsandare=frm,
        mottagare=to,
        beskrivning=text,
        omgang=rnd.id,
        remissinstans=d.remissinstans.code,
        filer=tuple(FileRef(doc.filename, doc.sha256, doc.size) for doc in a.documents),
    )


def extract(
    session: Session,
    *,
    sender: str,
    data_dir: Path,
    round_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Item]:
    """The items of one round, or of every round with something in [since, until)."""
    if round_id is not None:
        rnd = session.get(Round, round_id)
        if rnd is None:
            raise NotFoundError(f"omgång {round_id} finns inte")
        rounds = [rnd]
    else:
        query = select(Round).order_by(Round.id)
        if until is not None:
            query = query.where(Round.started_at < until)
        # Not filtered on closed_at: the decision is sent back after the round is closed.
        rounds = list(session.scalars(query))
    items = [
        item
        for rnd in rounds
        for item in round_items(session, rnd, sender=sender, data_dir=data_dir)
    ]
    if since is not None:
        items = [i for i in items if i.at >= since]
    if until is not None:
        items = [i for i in items if i.at < until]
    items.sort(key=lambda i: (i.at, i.id))
    return items


def new_since_last(
    session: Session,
    *,
    consumer: str,
    now: dt.datetime,
    sender: str,
    data_dir: Path,
) -> list[Item]:
    """What `consumer` has not had yet; its watermark moves on to the newest item given.

    The watermark is the time of the newest item handed over, not the time of the extract:
    a document stamped just before the extract but committed just after it still comes
    next time."""
    consumer = check_consumer(consumer)
    mark = session.get(ExtractWatermark, consumer, with_for_update=True)
    items = extract(session, sender=sender, data_dir=data_dir)
    if mark is not None:
        items = [i for i in items if i.at > mark.watermark]
    if mark is None:
        mark = ExtractWatermark(
            consumer=consumer, watermark=dt.datetime.min.replace(tzinfo=dt.UTC), items=0
        )
        session.add(mark)
    if items:
        mark.watermark = max(i.at for i in items)
    mark.items += len(items)
    mark.updated_at = now
    session.flush()
    return items


def check_consumer(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 100:
        raise InputError(
            "ange ett namn på mottagaren av utdraget, högst 100 tecken (t.ex. diariet)",
            field="--mottagare",
            value=name,
        )
    return cleaned


def iso_local(instant: dt.datetime, tz: str) -> str:
    """ISO 8601 in Swedish time with its offset: 2026-11-23T10:00:00+01:00."""
    return instant.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def as_record(item: Item, tz: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "tidpunkt": iso_local(item.at, tz),
        "riktning": item.riktning,
        "handlingstyp": item.handlingstyp,
        "diarienummer": item.diarienummer,
        "remissinstans_diarienummer": item.remissinstans_diarienummer,
        "avsandare": item.avsandare,
        "mottagare": item.mottagare,
        "beskrivning": item.beskrivning,
        "omgang": item.omgang,
        "remissinstans": item.remissinstans,
        "filer": [{"namn": f.namn, "sha256": f.sha256, "storlek": f.storlek} for f in item.filer],
    }


def to_json(items: list[Item], *, tz: str, created: dt.datetime) -> bytes:
    doc = {
        "schema": SCHEMA_ID,
        "skapad": iso_local(created, tz),
        "antal": len(items),
        "handlingar": [as_record(i, tz) for i in items],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_csv(items: list[Item], *, tz: str) -> bytes:
    """Excel opens it with åäö right: UTF-8 with BOM, semicolons, CRLF. Several files in one
    cell are separated by ' | ', their checksums in the same order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([label for _key, label in CSV_COLUMNS])
    for item in items:
        record = as_record(item, tz)
        record["filer"] = " | ".join(f.namn for f in item.filer)
        record["sha256"] = " | ".join(f.sha256 for f in item.filer)
        writer.writerow(["" if record[key] is None else record[key] for key, _label in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


FORMATS = ("csv", "json")


def render(items: list[Item], fmt: str, *, tz: str, created: dt.datetime) -> bytes:
    if fmt == "csv":
        return to_csv(items, tz=tz)
    if fmt == "json":
        return to_json(items, tz=tz, created=created)
    raise InputError(f"okänt format; välj {' eller '.join(FORMATS)}", field="--format", value=fmt)


def parse_day(text: str, field: str) -> dt.date:
    try:
        return dates.parse_date(text)
    except ValueError:
        raise InputError(
            "ange datumet som ÅÅÅÅ-MM-DD, t.ex. 2026-12-01", field=field, value=text
        ) from None


def build_extract(
    session: Session,
    settings: Settings,
    *,
    now: dt.datetime,
    fmt: str,
    round_id: int | None = None,
    from_day: dt.date | None = None,
    to_day: dt.date | None = None,
    consumer: str | None = None,
) -> tuple[bytes, int]:
    """The extract asked for (one round, a period of whole days in Swedish time, or what is
    new for a consumer) in `fmt`; and how many documents it holds."""
    if fmt not in FORMATS:
        raise InputError(
            f"okänt format; välj {' eller '.join(FORMATS)}", field="--format", value=fmt
        )
    chosen = sum((round_id is not None, bool(from_day or to_day), consumer is not None))
    if chosen != 1:
        raise InputError(
            "välj en omgång, en period (från och med, till och med) eller nya handlingar "
            "för en mottagare – precis ett av dem"
        )
    if from_day and to_day and from_day > to_day:
        raise InputError(
            "periodens första dag är efter dess sista", field="--till", value=to_day.isoformat()
        )
    tz = settings.timezone
    sender, data_dir = settings.sender_name, settings.data_dir
    if consumer is not None:
        items = new_since_last(
            session, consumer=consumer, now=now, sender=sender, data_dir=data_dir
        )
    elif round_id is not None:
        items = extract(session, round_id=round_id, sender=sender, data_dir=data_dir)
    else:
        since = dates.local_instant(from_day, 0, 0, tz) if from_day else None
        until = dates.local_instant(to_day + dt.timedelta(days=1), 0, 0, tz) if to_day else None
        items = extract(session, since=since, until=until, sender=sender, data_dir=data_dir)
    return render(items, fmt, tz=tz, created=now), len(items)


def file_name(fmt: str, *, now: dt.datetime, tz: str, round_id: int | None = None) -> str:
    stamp = now.astimezone(ZoneInfo(tz)).strftime("%Y%m%d-%H%M")
    what = f"omgang-{round_id}" if round_id is not None else stamp
    return f"diarieutdrag-{what}.{fmt}"
