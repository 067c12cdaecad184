"""Small validators shared by the case file and the register readers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from email_validator import EmailNotValidError, validate_email

from remiss.core.errors import InputError


class _Loader(yaml.SafeLoader):
    """SafeLoader that reports an impossible date (2027-02-30) as a YAML error with its line."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> dt.date:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"ogiltigt datum {node.value!r} ({exc})", node.start_mark
            ) from exc


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; InputError names the file and line."""
    if not path.exists():
        raise InputError(f"{what} finns inte", source=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("filen är inte UTF-8-kodad text", source=str(path)) from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" på rad {mark.line + 1}, kolumn {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"filen är inte giltig YAML{where}: {problem}", source=str(path)) from exc
    if not isinstance(data, dict):
        raise InputError(f"{what} ska vara en YAML-mappning med nycklar", source=str(path))
    return data


def check_keys(
    data: dict[str, Any],
    *,
    source: str,
    prefix: str,
    required: set[str],
    optional: set[str],
) -> None:
    for key in sorted(map(str, data)):
        if key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            raise InputError(
                f"okänt fält; tillåtna fält är {allowed}", source=source, field=prefix + key
            )
    for key in sorted(required):
        if data.get(key) in (None, "", []):
            raise InputError("fältet saknas eller är tomt", source=source, field=prefix + key)


def text_field(data: dict[str, Any], key: str, *, source: str, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InputError("ska vara en text", source=source, field=prefix + key, value=value)
    text = str(value).strip()
    if not text:
        raise InputError("får inte vara tomt", source=source, field=prefix + key)
    return text


def email_field(value: object, *, source: str, field: str) -> str:
    if not isinstance(value, str):
        raise InputError("ska vara en e-postadress", source=source, field=field, value=value)
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InputError(
            f"ogiltig e-postadress ({exc})", source=source, field=field, value=value
        ) from exc


def sender_belongs(sender: str | None, addresses: list[str]) -> bool:
    """Whether a sender's address is one of `addresses` or in the domain of one of them
    (a nämnd replies from its registrator's or a handläggare's address in its own domain).
    An unknown sender does not belong: nobody can tell who sent it."""
    if not sender or "@" not in sender:
        return False
    sender = sender.strip().lower()
    domain = sender.rpartition("@")[2]
    for address in addresses:
        known = (address or "").strip().lower()
        if "@" in known and (known == sender or known.rpartition("@")[2] == domain):
            return True
    return False
