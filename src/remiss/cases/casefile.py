"""The case file (YAML): what is sent on remiss, to whom, and by when."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.terms import ARENDETYPER
from remiss.core.validation import check_keys, email_field, load_yaml_mapping, text_field
from remiss.register.instances import Register, Remissinstans
from remiss.reminders.policy import Policy, parse_policy

REQUIRED = {
    "diarienummer",
    "rubrik",
    "arendetyp",
    "att_satser",
    "svar_senast",
    "remissinstanser",
    "handlaggare",
}
OPTIONAL = {"motionarer", "vackt", "handlingar", "missiv", "paminnelser"}


@dataclass(frozen=True)
class Motionar:
    namn: str
    parti: str


@dataclass(frozen=True)
class Handling:
    path: Path
    title: str
    content_type: str


@dataclass(frozen=True)
class CaseFile:
    source: Path
    sha256: str
    diarienummer: str
    rubrik: str
    arendetyp: str
    motionarer: tuple[Motionar, ...]
    vackt: dt.date | None
    att_satser: tuple[str, ...]
    svar_senast: dt.date
    remissinstanser: tuple[str, ...]
    handlingar: tuple[Handling, ...]
    handlaggare_namn: str
    handlaggare_epost: str
    missiv: str | None
    paminnelser: dict[str, Any] = field(default_factory=dict)

    @property
    def arendetyp_label(self) -> str:
        return ARENDETYPER[self.arendetyp]


@dataclass(frozen=True)
class RoundPlan:
    """A validated case with its recipients and deadline: everything needed to start a round."""

    case: CaseFile
    recipients: tuple[Remissinstans, ...]
    deadline: dt.date
    policy: Policy = field(default_factory=Policy)


def _date(value: object, *, source: str, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dates.parse_date(str(value))
    except ValueError as exc:
        raise InputError(
            "ska vara ett datum i formen ÅÅÅÅ-MM-DD", source=source, field=field, value=value
        ) from exc


def _list(data: dict[str, Any], key: str, *, source: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError("ska vara en lista", source=source, field=key, value=value)
    return value


def _motionarer(data: dict[str, Any], *, source: str) -> tuple[Motionar, ...]:
    out = []
    for i, item in enumerate(_list(data, "motionarer", source=source)):
        where = f"motionarer[{i}]."
        if not isinstance(item, dict):
            raise InputError("ska ha namn och parti", source=source, field=where.rstrip("."))
        check_keys(item, source=source, prefix=where, required={"namn", "parti"}, optional=set())
        out.append(
            Motionar(
                namn=text_field(item, "namn", source=source, prefix=where),
                parti=text_field(item, "parti", source=source, prefix=where),
            )
        )
    return tuple(out)


def _handlingar(data: dict[str, Any], *, source: str, base: Path) -> tuple[Handling, ...]:
    out = []
    seen: set[Path] = set()
    for i, item in enumerate(_list(data, "handlingar", source=source)):
        where = f"handlingar[{i}]"
        if isinstance(item, str):
            item = {"fil": item}
        if not isinstance(item, dict):
            raise InputError(
                "ska vara en filsökväg eller ha fil och titel", source=source, field=where
            )
        check_keys(item, source=source, prefix=where + ".", required={"fil"}, optional={"titel"})
        rel = text_field(item, "fil", source=source, prefix=where + ".")
        path = (base / rel).resolve()
        if not path.is_file():
            raise InputError(
                f"filen finns inte (letade efter {path})",
                source=source,
                field=where + ".fil",
                value=rel,
            )
        if path in seen:
            raise InputError(
                "filen är angiven två gånger", source=source, field=where + ".fil", value=rel
            )
        seen.add(path)
        title = (
            text_field(item, "titel", source=source, prefix=where + ".")
            if item.get("titel")
            else path.stem
        )
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        out.append(Handling(path=path, title=title, content_type=content_type))
    return tuple(out)


def parse_case(path: Path) -> CaseFile:
    """Read and check a case file. Raises InputError naming the file, field and value."""
    data = load_yaml_mapping(path, "ärendefilen")
    source = str(path)
    check_keys(data, source=source, prefix="", required=REQUIRED, optional=OPTIONAL)

    arendetyp = data["arendetyp"]
    if not isinstance(arendetyp, str) or arendetyp not in ARENDETYPER:
        raise InputError(
            f"okänd ärendetyp; tillåtna är {', '.join(ARENDETYPER)}",
            source=source,
            field="arendetyp",
            value=arendetyp,
        )
    motionarer = _motionarer(data, source=source)
    if arendetyp == "motion" and not motionarer:
        raise InputError("en motion ska ha minst en motionär", source=source, field="motionarer")

    att_satser = []
    for i, item in enumerate(_list(data, "att_satser", source=source)):
        if not isinstance(item, str) or not item.strip():
            raise InputError(
                "ska vara en text", source=source, field=f"att_satser[{i}]", value=item
            )
        att_satser.append(" ".join(item.split()))

    instanser = []
    for i, item in enumerate(_list(data, "remissinstanser", source=source)):
        if not isinstance(item, str) or not item.strip():
            raise InputError(
                "ska vara en kod eller ett gruppnamn",
                source=source,
                field=f"remissinstanser[{i}]",
                value=item,
            )
        instanser.append(item.strip())

    handlaggare = data["handlaggare"]
    if not isinstance(handlaggare, dict):
        raise InputError("ska ha namn och epost", source=source, field="handlaggare")
    check_keys(
        handlaggare,
        source=source,
        prefix="handlaggare.",
        required={"namn", "epost"},
        optional=set(),
    )

    paminnelser = data.get("paminnelser") or {}
    if not isinstance(paminnelser, dict):
        raise InputError(
            "ska vara en mappning, som i config/paminnelser.yaml",
            source=source,
            field="paminnelser",
        )
    parse_policy(paminnelser, source=source, prefix="paminnelser.")  # checked now, merged later

    missiv = data.get("missiv")
    if missiv is not None and not isinstance(missiv, str):
        raise InputError("ska vara en text", source=source, field="missiv", value=missiv)

    return CaseFile(
        source=path.resolve(),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        diarienummer=" ".join(text_field(data, "diarienummer", source=source).split()),
        rubrik=" ".join(text_field(data, "rubrik", source=source).split()),
        arendetyp=arendetyp,
        motionarer=motionarer,
        vackt=_date(data["vackt"], source=source, field="vackt") if data.get("vackt") else None,
        att_satser=tuple(att_satser),
        svar_senast=_date(data["svar_senast"], source=source, field="svar_senast"),
        remissinstanser=tuple(instanser),
        handlingar=_handlingar(data, source=source, base=path.resolve().parent),
        handlaggare_namn=text_field(handlaggare, "namn", source=source, prefix="handlaggare."),
        handlaggare_epost=email_field(
            handlaggare["epost"], source=source, field="handlaggare.epost"
        ),
        missiv=missiv.strip() if missiv else None,
        paminnelser=paminnelser,
    )


def check_deadline(day: dt.date, *, today: dt.date, force: bool, source: str, field: str) -> None:
    """A deadline must lie ahead and, unless forced, fall on a Swedish working day."""
    if day <= today:
        raise InputError(
            f"svarsdatumet måste ligga efter i dag ({today.isoformat()})",
            source=source,
            field=field,
            value=day.isoformat(),
        )
    reason = dates.non_working_reason(day)
    if reason and not force:
        raise InputError(
            f"svarsdatumet är ingen arbetsdag ({reason}); välj en arbetsdag eller använd --force",
            source=source,
            field=field,
            value=day.isoformat(),
        )


def plan_round(
    case: CaseFile,
    register: Register,
    *,
    today: dt.date,
    to: list[str] | None = None,
    deadline: dt.date | None = None,
    force: bool = False,
    policy: Policy | None = None,
) -> RoundPlan:
    """Resolve recipients and the deadline, with the command-line overrides taking precedence."""
    source = str(case.source)
    if to:
        recipients = register.resolve(to, source="kommandoraden", field="--to")
    else:
        recipients = register.resolve(
            list(case.remissinstanser), source=source, field="remissinstanser"
        )
    if not recipients:
        raise InputError("inga remissinstanser valda", source=source, field="remissinstanser")
    if deadline is not None:
        check_deadline(
            deadline, today=today, force=force, source="kommandoraden", field="--deadline"
        )
        chosen = deadline
    else:
        check_deadline(
            case.svar_senast, today=today, force=force, source=source, field="svar_senast"
        )
        chosen = case.svar_senast
    merged = parse_policy(case.paminnelser, source=source, prefix="paminnelser.", base=policy)
    return RoundPlan(case=case, recipients=tuple(recipients), deadline=chosen, policy=merged)
