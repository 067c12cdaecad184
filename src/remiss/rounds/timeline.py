"""The case's whole history, as the workspace shows it: väckt, remiss sent, answers,
sammanställning, closed, decision, decision sent back; and a motion's one-year limit.

Also where the compiled remissammanställningar of a round lie: the compile flow writes each
one to `data_dir/sammanstallningar/<slug>-omgang-<id>/<UTC timestamp>/`, and both the
history and the report page read that listing (never a path a request names)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from remiss.core import dates
from remiss.core.errors import NotFoundError
from remiss.core.states import MessageKind, MessageState, RoundState
from remiss.db.models import Decision, Dispatch, OutgoingMessage, Round
from remiss.register.meetings import motion_limit
from remiss.reminders.schedule import is_done, jointly_answered

NOT_YET = "ännu inte"
REPORTS_DIR = "sammanstallningar"
_STAMP = re.compile(r"\d{8}-\d{6}")
# The files of one compile, by format, as report.render names them.
REPORT_FORMATS = ("html", "pdf", "docx")
# Written beside the files of each compile: its status and every file's sha256.
VERSION_FILE = "version.json"


@dataclass(frozen=True)
class ReportVersion:
    """One compiled remissammanställning: when, and its files by format ("html", "pdf",
    "docx"), each a file the server found itself."""

    stamp: str  # the folder's name, YYYYmmdd-HHMMSS (UTC): what a link names
    compiled_at: dt.datetime
    files: dict[str, Path]
    status: str = ""  # "Preliminär" or "Slutlig"; "" for a compile without its record
    sha256: dict[str, str] = field(default_factory=dict)  # by format


def report_versions(data_dir: Path, *, round_id: int) -> list[ReportVersion]:
    """The round's compiled remissammanställningar, newest first."""
    root = data_dir / REPORTS_DIR
    if not root.is_dir():
        return []
    versions = []
    # `<slug>-omgang-<id>`: the slug comes from the diarienummer, the suffix is exact.
    for folder in root.glob(f"*-omgang-{round_id}"):
        if not folder.is_dir():
            continue
        for stamp_dir in folder.iterdir():
            if not (stamp_dir.is_dir() and _STAMP.fullmatch(stamp_dir.name)):
                continue
            files = {
                fmt: path
                for fmt in REPORT_FORMATS
                for path in sorted(stamp_dir.glob(f"remissammanstallning-*.{fmt}"))
                if path.is_file() and not path.name.startswith(".")
            }
            if not files:
                continue
            at = dt.datetime.strptime(stamp_dir.name, "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
            status, sums = _version_record(stamp_dir / VERSION_FILE, files)
            versions.append(
                ReportVersion(
                    stamp=stamp_dir.name, compiled_at=at, files=files, status=status, sha256=sums
                )
            )
    versions.sort(key=lambda v: v.stamp, reverse=True)
    return versions


def _version_record(path: Path, files: dict[str, Path]) -> tuple[str, dict[str, str]]:
    """The status and checksums a compile recorded; nothing for a folder without one (a
    compile from before records were kept, or one killed before it wrote its record)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        sums = record["sha256"]
        status = str(record["status"])
    except (OSError, ValueError, KeyError, TypeError):
        return "", {}
    by_name = {p.name: fmt for fmt, p in files.items()}
    return status, {by_name[n]: str(v) for n, v in sums.items() if n in by_name}


@dataclass(frozen=True)
class Step:
    """One step of the case's history. `when` is the Swedish date, or "ännu inte"."""

    key: str
    label: str
    done: bool
    when: str
    detail: str | None = None


@dataclass(frozen=True)
class MotionLimit:
    """A motion should be decided by kommunfullmäktige within a year (KL 5 kap. 35 §)."""

    limit: dt.date
    limit_text: str
    days_left: int
    passed: bool
    text: str


@dataclass(frozen=True)
class CaseTimeline:
    round_id: int
    steps: list[Step]
    motion: MotionLimit | None


def _local_date(instant: dt.datetime, tz: str) -> str:
    return dates.swedish_date(dates.local_today(instant, tz))


def _days(n: int) -> str:
    return "1 dag" if n == 1 else f"{n} dagar"


def _motion_limit(vackt: dt.date, *, today: dt.date, kf_decided: dt.date | None) -> MotionLimit:
    limit = motion_limit(vackt)
    days_left = (limit - today).days
    limit_text = dates.swedish_date(limit)
    if kf_decided is not None:
        in_time = kf_decided <= limit
        text = (
            f"Kommunfullmäktige beslutade {dates.swedish_date(kf_decided)}, "
            + ("inom ettårsgränsen" if in_time else "efter ettårsgränsen")
            + f" {limit_text}."
        )
        return MotionLimit(limit, limit_text, days_left, not in_time, text)
    if days_left > 0:
        text = f"Motionen bör avgöras senast {limit_text}: {_days(days_left)} kvar."
    elif days_left == 0:
        text = f"Motionen bör avgöras senast i dag, {limit_text}."
    else:
        text = (
            f"Ettårsgränsen {limit_text} passerades för {_days(-days_left)} sedan. "
            "Fullmäktige ska då få veta varför motionen inte är avgjord."
        )
    return MotionLimit(limit, limit_text, days_left, days_left < 0, text)


def latest_decision(session: Session, *, round_id: int) -> Decision | None:
    return session.scalars(
        select(Decision).where(Decision.round_id == round_id).order_by(Decision.id.desc())
    ).first()


def decision_messages(session: Session, *, decision: Decision) -> list[OutgoingMessage]:
    """The decision's e-mails, one per dispatch (their stage is the decision's id)."""
    return list(
        session.scalars(
            select(OutgoingMessage)
            .join(Dispatch)
            .where(
                Dispatch.round_id == decision.round_id,
                OutgoingMessage.kind == MessageKind.BESLUT,
                OutgoingMessage.stage == decision.id,
            )
            .order_by(OutgoingMessage.id)
        )
    )


def _sent_back_step(session: Session, *, decision: Decision | None, tz: str) -> Step:
    label = "Beslutet skickades till remissinstanserna"
    messages = decision_messages(session, decision=decision) if decision else []
    if not messages:
        return Step("skickat", label, False, NOT_YET)
    went = [m.sent_at for m in messages if m.state == MessageState.SENT and m.sent_at]
    complete = len(went) == len(messages)
    return Step(
        "skickat",
        label,
        complete,
        _local_date(max(went), tz) if complete else NOT_YET,
        f"till {len(went)} av {len(messages)} remissinstanser",
    )


def case_timeline(
    session: Session,
    *,
    round_id: int,
    tz: str,
    now: dt.datetime,
    data_dir: Path | None = None,
) -> CaseTimeline:
    """The history of the round's case up to `now`. With `data_dir`, the sammanställning
    step counts every compile found on disk; without it only the automatic ones."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFoundError(f"Hittar ingen remissomgång {round_id}.")
    case = rnd.case
    today = dates.local_today(now, tz)
    steps: list[Step] = []

    is_motion = case.arendetyp == "motion"
    if case.vackt is not None:
        steps.append(
            Step(
                "vackt",
                "Motionen väcktes" if is_motion else "Ärendet väcktes",
                True,
                dates.swedish_date(case.vackt),
            )
        )
    else:
        steps.append(Step("vackt", "Ärendet väcktes", False, "okänt datum"))

    total = len(rnd.dispatches)
    sent = [d.sent_at for d in rnd.dispatches if d.sent_at is not None]
    steps.append(
        Step(
            "remiss",
            "Remissen skickades",
            bool(sent),
            _local_date(min(sent), tz) if sent else NOT_YET,
            f"till {len(sent)} av {total} remissinstanser",
        )
    )

    joint = jointly_answered(session, round_id=rnd.id)
    done = [d for d in rnd.dispatches if is_done(d, joint)]
    answered_at = [a.submitted_at for d in rnd.dispatches for a in d.answers[:1]]
    answered_at += [d.declined_at for d in rnd.dispatches if d.declined_at is not None]
    complete = total > 0 and len(done) == total
    steps.append(
        Step(
            "svar",
            "Remissvaren kom in",
            complete,
            _local_date(max(answered_at), tz) if complete and answered_at else NOT_YET,
            f"{len(done)} av {total} har svarat eller avstått",
        )
    )

    compiled = (
        [v.compiled_at for v in report_versions(data_dir, round_id=rnd.id)] if data_dir else []
    )
    if rnd.auto_compiled_at is not None:
        compiled.append(rnd.auto_compiled_at)
    steps.append(
        Step(
            "sammanstallning",
            "Remissvaren sammanställdes",
            bool(compiled),
            _local_date(max(compiled), tz) if compiled else NOT_YET,
            (f"{len(compiled)} versioner" if len(compiled) > 1 else None),
        )
    )

    closed = rnd.state == RoundState.CLOSED and rnd.closed_at is not None
    steps.append(
        Step(
            "avslutad",
            "Remissomgången avslutades",
            closed,
            _local_date(rnd.closed_at, tz) if closed and rnd.closed_at else NOT_YET,
        )
    )

    decision = latest_decision(session, round_id=rnd.id)
    steps.append(
        Step(
            "beslut",
            "Beslut i ärendet",
            decision is not None,
            dates.swedish_date(decision.beslutsdatum) if decision else NOT_YET,
            f"{decision.organ} {decision.paragraf}: {decision.text}" if decision else None,
        )
    )

    steps.append(_sent_back_step(session, decision=decision, tz=tz))

    motion = None
    if is_motion and case.vackt is not None:
        kf = decision.beslutsdatum if decision is not None and decision.organ == "KF" else None
        motion = _motion_limit(case.vackt, today=today, kf_decided=kf)
    return CaseTimeline(round_id=rnd.id, steps=steps, motion=motion)
