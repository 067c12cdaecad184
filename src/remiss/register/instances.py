"""The register of remissinstanser: who can receive a remiss, and the groups they form."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.validation import check_keys, email_field, load_yaml_mapping, text_field

KINDS: dict[str, str] = {
    "namnd": "nämnd",
    "stadsdelsnamnd": "stadsdelsnämnd",
    "bolag": "bolag",
    "rad": "råd",
    "extern": "extern",
}

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Contact:
    namn: str
    epost: str
    roll: str | None = None


@dataclass(frozen=True)
class Remissinstans:
    code: str
    name: str
    kind: str
    email: str
    groups: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    meetings: tuple[dt.date, ...] = ()  # sammanträdesplan; empty when not known

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Register:
    source: str
    instanser: dict[str, Remissinstans]
    groups: dict[str, Group]

    def resolve(self, names: list[str], *, source: str, field: str) -> list[Remissinstans]:
        """Codes and group names to remissinstanser, in register order, without duplicates."""
        wanted: set[str] = set()
        for name in names:
            key = name.strip()
            if key in self.instanser:
                wanted.add(key)
            elif key in self.groups:
                wanted.update(self.groups[key].members)
            else:
                raise InputError(
                    "okänd remissinstans eller grupp; se `remiss instanser` för koderna "
                    f"och grupperna ({', '.join(sorted(self.groups))})",
                    source=source,
                    field=field,
                    value=name,
                )
        return [inst for code, inst in self.instanser.items() if code in wanted]

    def in_group(self, group: str) -> list[Remissinstans]:
        if group not in self.groups:
            raise InputError(
                f"okänd grupp; grupperna är {', '.join(sorted(self.groups))}",
                field="--grupp",
                value=group,
            )
        members = set(self.groups[group].members)
        return [inst for code, inst in self.instanser.items() if code in members]


def _code(value: object, *, source: str, field: str) -> str:
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
        raise InputError(
            "en kod ska bestå av små bokstäver a–z, siffror och understreck",
            source=source,
            field=field,
            value=value,
        )
    return value


def _contacts(raw: object, *, source: str, prefix: str) -> tuple[Contact, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError("ska vara en lista", source=source, field=prefix.rstrip("."))
    contacts = []
    for i, item in enumerate(raw):
        where = f"{prefix}[{i}]."
        if not isinstance(item, dict):
            raise InputError("ska ha namn och epost", source=source, field=where.rstrip("."))
        check_keys(item, source=source, prefix=where, required={"namn", "epost"}, optional={"roll"})
        contacts.append(
            Contact(
                namn=text_field(item, "namn", source=source, prefix=where),
                epost=email_field(item["epost"], source=source, field=where + "epost"),
                roll=text_field(item, "roll", source=source, prefix=where)
                if item.get("roll")
                else None,
            )
        )
    return tuple(contacts)


def _meetings(raw: object, *, source: str, field: str) -> tuple[dt.date, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError("ska vara en lista med datum ÅÅÅÅ-MM-DD", source=source, field=field)
    days = []
    for value in raw:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            days.append(value)
            continue
        try:
            days.append(dates.parse_date(str(value)))
        except ValueError as exc:
            raise InputError(
                "ska vara ett datum ÅÅÅÅ-MM-DD", source=source, field=field, value=value
            ) from exc
    return tuple(sorted(set(days)))


def parse_register(data: dict[str, Any], source: str) -> Register:
    check_keys(data, source=source, prefix="", required={"remissinstanser"}, optional={"grupper"})
    raw_groups = data.get("grupper") or {}
    if not isinstance(raw_groups, dict):
        raise InputError(
            "ska vara en mappning från gruppkod till namn", source=source, field="grupper"
        )
    group_names: dict[str, str] = {}
    for code, name in raw_groups.items():
        _code(code, source=source, field=f"grupper.{code}")
        if not isinstance(name, str) or not name.strip():
            raise InputError("gruppen ska ha ett namn", source=source, field=f"grupper.{code}")
        group_names[code] = name.strip()

    items = data["remissinstanser"]
    if not isinstance(items, list):
        raise InputError("ska vara en lista", source=source, field="remissinstanser")
    instanser: dict[str, Remissinstans] = {}
    members: dict[str, list[str]] = {g: [] for g in group_names}
    for i, item in enumerate(items):
        where = f"remissinstanser[{i}]."
        if not isinstance(item, dict):
            raise InputError("ska vara en mappning", source=source, field=where.rstrip("."))
        check_keys(
            item,
            source=source,
            prefix=where,
            required={"kod", "namn", "typ", "funktionsbrevlada"},
            optional={"grupper", "kontakter", "sammantraden"},
        )
        code = _code(item["kod"], source=source, field=where + "kod")
        if code in instanser:
            raise InputError(
                "koden förekommer mer än en gång i registret",
                source=source,
                field=where + "kod",
                value=code,
            )
        if code in group_names:
            raise InputError(
                "koden är samma som en grupps kod", source=source, field=where + "kod", value=code
            )
        kind = item["typ"]
        if not isinstance(kind, str) or kind not in KINDS:
            raise InputError(
                f"okänd typ; tillåtna är {', '.join(KINDS)}",
                source=source,
                field=where + "typ",
                value=kind,
            )
        groups = item.get("grupper") or []
        if not isinstance(groups, list):
            raise InputError("ska vara en lista", source=source, field=where + "grupper")
        for g in groups:
            if not isinstance(g, str) or g not in group_names:
                raise InputError(
                    "gruppen är inte definierad under grupper",
                    source=source,
                    field=where + "grupper",
                    value=g,
                )
            members[g].append(code)
        instanser[code] = Remissinstans(
            code=code,
            name=text_field(item, "namn", source=source, prefix=where),
            kind=kind,
            email=email_field(
                item["funktionsbrevlada"], source=source, field=where + "funktionsbrevlada"
            ),
            groups=tuple(groups),
            contacts=_contacts(item.get("kontakter"), source=source, prefix=where + "kontakter"),
            meetings=_meetings(
                item.get("sammantraden"), source=source, field=where + "sammantraden"
            ),
        )
    groups_out = {g: Group(g, group_names[g], tuple(members[g])) for g in group_names}
    return Register(source=source, instanser=instanser, groups=groups_out)


def load_register(path: Path) -> Register:
    return parse_register(load_yaml_mapping(path, "registret över remissinstanser"), str(path))
