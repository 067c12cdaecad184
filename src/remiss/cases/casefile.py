"""The case file (YAML): what is sent on remiss, to whom, and by when.

The same keys describe a case prepared in the workspace (`CaseDraft.data`), and both are
checked by the same field validators here (`field_errors`), so a draft and a case file
accept and refuse exactly the same things.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.terms import ARENDETYPER
from remiss.core.validation import check_keys, email_field, load_yaml_mapping, text_field
from remiss.register.instances import KINDS, Register, Remissinstans
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

# An outside organisation named in the case (not in the register) gets a code with a
# hyphen: register codes are [a-z][a-z0-9_]*, so the two can never collide.
AD_HOC_PREFIX = "extern-"
AD_HOC_KEYS = {"namn", "epost", "typ"}


@dataclass(frozen=True)
class Motionar:
    namn: str
    parti: str


@dataclass(frozen=True)
class Handling:
    path: Path
    title: str
    content_type: str
    filename: str = ""  # the name the file is sent under; the path's name when empty

    @property
    def send_name(self) -> str:
        return self.filename or self.path.name


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
    remissinstanser: tuple[str, ...]  # register codes and group names
    handlingar: tuple[Handling, ...]
    handlaggare_namn: str
    handlaggare_epost: str
    missiv: str | None
    paminnelser: dict[str, Any] = field(default_factory=dict)
    # Outside organisations for this case only (mappings namn/epost/typ in remissinstanser).
    ad_hoc: tuple[Remissinstans, ...] = ()
    ad_hoc_positions: tuple[int, ...] = ()  # each one's index in remissinstanser, for errors

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

    @property
    def ad_hoc_codes(self) -> frozenset[str]:
        return frozenset(inst.code for inst in self.case.ad_hoc)


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


def _at_most(text: str, limit: int, *, source: str, field: str) -> str:
    """The database keeps this many characters; a longer value is refused, never cut."""
    if len(text) > limit:
        raise InputError(f"får vara högst {limit} tecken långt", source=source, field=field)
    return text


def _required(data: dict[str, Any], key: str, *, source: str) -> None:
    if data.get(key) in (None, "", []):
        raise InputError("fältet saknas eller är tomt", source=source, field=key)


def _slug(name: str) -> str:
    ascii_name = "".join(
        c for c in unicodedata.normalize("NFKD", name.lower()) if not unicodedata.combining(c)
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40].strip("-") or "organisation"


def ad_hoc_code(name: str, email: str) -> str:
    """`extern-<slug of the name>-<8 hex of the e-mail>`: stable for the same organisation."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:8]
    return f"{AD_HOC_PREFIX}{_slug(name)}-{digest}"


def is_ad_hoc_code(code: str) -> bool:
    return code.startswith(AD_HOC_PREFIX)


# --- One validator per field, in the order the case file has always been checked ----------


def check_arendetyp(data: dict[str, Any], *, source: str) -> str:
    _required(data, "arendetyp", source=source)
    arendetyp = data["arendetyp"]
    if not isinstance(arendetyp, str) or arendetyp not in ARENDETYPER:
        raise InputError(
            f"okänd ärendetyp; tillåtna är {', '.join(ARENDETYPER)}",
            source=source,
            field="arendetyp",
            value=arendetyp,
        )
    return arendetyp


def check_motionarer(data: dict[str, Any], *, source: str) -> tuple[Motionar, ...]:
    out = []
    for i, item in enumerate(_list(data, "motionarer", source=source)):
        where = f"motionarer[{i}]."
        if not isinstance(item, dict):
            raise InputError("ska ha namn och parti", source=source, field=where.rstrip("."))
        check_keys(item, source=source, prefix=where, required={"namn", "parti"}, optional=set())
        out.append(
            Motionar(
                namn=_at_most(
                    text_field(item, "namn", source=source, prefix=where),
                    200,
                    source=source,
                    field=where + "namn",
                ),
                parti=_at_most(
                    text_field(item, "parti", source=source, prefix=where),
                    50,
                    source=source,
                    field=where + "parti",
                ),
            )
        )
    if data.get("arendetyp") == "motion" and not out:
        raise InputError("en motion ska ha minst en motionär", source=source, field="motionarer")
    return tuple(out)


def check_att_satser(data: dict[str, Any], *, source: str) -> tuple[str, ...]:
    _required(data, "att_satser", source=source)
    att_satser = []
    for i, item in enumerate(_list(data, "att_satser", source=source)):
        if not isinstance(item, str) or not item.strip():
            raise InputError(
                "ska vara en text", source=source, field=f"att_satser[{i}]", value=item
            )
        att_satser.append(" ".join(item.split()))
    return tuple(att_satser)


def _ad_hoc_entry(item: dict[str, Any], *, source: str, where: str) -> Remissinstans:
    check_keys(item, source=source, prefix=where + ".", required=AD_HOC_KEYS, optional=set())
    name = " ".join(text_field(item, "namn", source=source, prefix=where + ".").split())
    _at_most(name, 300, source=source, field=where + ".namn")
    email = email_field(item["epost"], source=source, field=where + ".epost")
    kind = item["typ"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise InputError(
            f"okänd typ; tillåtna är {', '.join(KINDS)}",
            source=source,
            field=where + ".typ",
            value=kind,
        )
    return Remissinstans(code=ad_hoc_code(name, email), name=name, kind=kind, email=email)


def check_remissinstanser(
    data: dict[str, Any], *, source: str
) -> tuple[tuple[str, ...], tuple[Remissinstans, ...], tuple[int, ...]]:
    """Register codes and group names, and the outside organisations named ad hoc."""
    _required(data, "remissinstanser", source=source)
    names: list[str] = []
    ad_hoc: list[Remissinstans] = []
    positions: list[int] = []
    emails: dict[str, int] = {}
    for i, item in enumerate(_list(data, "remissinstanser", source=source)):
        where = f"remissinstanser[{i}]"
        if isinstance(item, dict):
            inst = _ad_hoc_entry(item, source=source, where=where)
            if inst.email.lower() in emails:
                raise InputError(
                    f"adressen står redan i remissinstanser[{emails[inst.email.lower()]}]",
                    source=source,
                    field=where + ".epost",
                    value=inst.email,
                )
            emails[inst.email.lower()] = i
            ad_hoc.append(inst)
            positions.append(i)
            continue
        if not isinstance(item, str) or not item.strip():
            raise InputError(
                "ska vara en kod, ett gruppnamn eller en organisation med namn, epost och typ",
                source=source,
                field=where,
                value=item,
            )
        names.append(item.strip())
    return tuple(names), tuple(ad_hoc), tuple(positions)


def check_handlaggare(data: dict[str, Any], *, source: str) -> tuple[str, str]:
    _required(data, "handlaggare", source=source)
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
    return (
        _at_most(
            text_field(handlaggare, "namn", source=source, prefix="handlaggare."),
            200,
            source=source,
            field="handlaggare.namn",
        ),
        email_field(handlaggare["epost"], source=source, field="handlaggare.epost"),
    )


def check_paminnelser(data: dict[str, Any], *, source: str) -> dict[str, Any]:
    paminnelser = data.get("paminnelser") or {}
    if not isinstance(paminnelser, dict):
        raise InputError(
            "ska vara en mappning, som i config/paminnelser.yaml",
            source=source,
            field="paminnelser",
        )
    parse_policy(paminnelser, source=source, prefix="paminnelser.")  # checked now, merged later
    return paminnelser


def check_missiv(data: dict[str, Any], *, source: str) -> str | None:
    missiv = data.get("missiv")
    if missiv is not None and not isinstance(missiv, str):
        raise InputError("ska vara en text", source=source, field="missiv", value=missiv)
    if not missiv or not missiv.strip():
        return None
    return missiv.strip()


def check_diarienummer(data: dict[str, Any], *, source: str) -> str:
    _required(data, "diarienummer", source=source)
    value = " ".join(text_field(data, "diarienummer", source=source).split())
    return _at_most(value, 100, source=source, field="diarienummer")


def check_rubrik(data: dict[str, Any], *, source: str) -> str:
    _required(data, "rubrik", source=source)
    return " ".join(text_field(data, "rubrik", source=source).split())


def check_vackt(data: dict[str, Any], *, source: str) -> dt.date | None:
    return _date(data["vackt"], source=source, field="vackt") if data.get("vackt") else None


def check_svar_senast(data: dict[str, Any], *, source: str) -> dt.date:
    _required(data, "svar_senast", source=source)
    return _date(data["svar_senast"], source=source, field="svar_senast")


Validator = Callable[..., Any]

# Field name -> validator, in the order errors are reported.
VALIDATORS: dict[str, Validator] = {
    "arendetyp": check_arendetyp,
    "motionarer": check_motionarer,
    "att_satser": check_att_satser,
    "remissinstanser": check_remissinstanser,
    "handlaggare": check_handlaggare,
    "paminnelser": check_paminnelser,
    "missiv": check_missiv,
    "diarienummer": check_diarienummer,
    "rubrik": check_rubrik,
    "vackt": check_vackt,
    "svar_senast": check_svar_senast,
}


def field_errors(
    data: dict[str, Any], *, source: str, fields: Iterable[str] | None = None
) -> list[InputError]:
    """Every field's first error (all fields, or the ones named), for a form to show at once."""
    wanted = set(VALIDATORS if fields is None else fields)
    errors = []
    for name, validate in VALIDATORS.items():
        if name in wanted:
            try:
                validate(data, source=source)
            except InputError as exc:
                errors.append(exc)
    return errors


def build_case(
    data: dict[str, Any],
    *,
    source: Path,
    sha256: str,
    handlingar: tuple[Handling, ...],
) -> CaseFile:
    """A CaseFile from case-file keys; raises the first field's InputError."""
    where = str(source)
    arendetyp = check_arendetyp(data, source=where)
    motionarer = check_motionarer(data, source=where)
    att_satser = check_att_satser(data, source=where)
    instanser, ad_hoc, positions = check_remissinstanser(data, source=where)
    handlaggare_namn, handlaggare_epost = check_handlaggare(data, source=where)
    paminnelser = check_paminnelser(data, source=where)
    missiv = check_missiv(data, source=where)
    return CaseFile(
        source=source,
        sha256=sha256,
        diarienummer=check_diarienummer(data, source=where),
        rubrik=check_rubrik(data, source=where),
        arendetyp=arendetyp,
        motionarer=motionarer,
        vackt=check_vackt(data, source=where),
        att_satser=att_satser,
        svar_senast=check_svar_senast(data, source=where),
        remissinstanser=instanser,
        handlingar=handlingar,
        handlaggare_namn=handlaggare_namn,
        handlaggare_epost=handlaggare_epost,
        missiv=missiv,
        paminnelser=paminnelser,
        ad_hoc=ad_hoc,
        ad_hoc_positions=positions,
    )


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
    # Every field but the files first: a mistyped field is reported before a missing file.
    for name in VALIDATORS:
        VALIDATORS[name](data, source=source)
    return build_case(
        data,
        source=path.resolve(),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        handlingar=_handlingar(data, source=source, base=path.resolve().parent),
    )


def check_deadline(day: dt.date, *, today: dt.date, force: bool, source: str, field: str) -> None:
    """A deadline must lie ahead and, unless forced, fall on a Swedish working day."""
    if day <= today:
        raise InputError(
            f"svarsdagen måste ligga efter i dag ({dates.swedish_date(today)})",
            source=source,
            field=field,
            value=day.isoformat(),
        )
    reason = dates.non_working_reason(day)
    if reason and not force:
        raise InputError(
            f"svarsdagen är ingen arbetsdag ({reason}); välj en arbetsdag eller använd --tvinga",
            source=source,
            field=field,
            value=day.isoformat(),
        )


def _ad_hoc_recipients(case: CaseFile, register: Register, *, source: str) -> list[Remissinstans]:
    """The case's outside organisations; one already in the register must be chosen there
    (its row, contacts and sammanträdesplan are kept up to date), not added ad hoc."""
    in_register = {inst.email.lower(): inst for inst in register.instanser.values()}
    for inst, i in zip(case.ad_hoc, case.ad_hoc_positions, strict=True):
        known = in_register.get(inst.email.lower())
        if known is not None:
            raise InputError(
                f"adressen tillhör {known.name} i registret (kod {known.code}); välj den "
                "därifrån i stället",
                source=source,
                field=f"remissinstanser[{i}].epost",
                value=inst.email,
            )
    return list(case.ad_hoc)


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
        recipients = register.resolve(to, source="kommandoraden", field="--till")
    else:
        recipients = register.resolve(
            list(case.remissinstanser), source=source, field="remissinstanser"
        )
        recipients += _ad_hoc_recipients(case, register, source=source)
    if not recipients:
        raise InputError("inga remissinstanser valda", source=source, field="remissinstanser")
    if deadline is not None:
        check_deadline(
            deadline, today=today, force=force, source="kommandoraden", field="--svarsdag"
        )
        chosen = deadline
    else:
        check_deadline(
            case.svar_senast, today=today, force=force, source=source, field="svar_senast"
        )
        chosen = case.svar_senast
    merged = parse_policy(case.paminnelser, source=source, prefix="paminnelser.", base=policy)
    return RoundPlan(case=case, recipients=tuple(recipients), deadline=chosen, policy=merged)
