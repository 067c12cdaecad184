"""Settings: a YAML file in config/ overridden by REMISS_* environment variables.

No secret belongs in the file; secrets (later: mail credentials) come from the
environment or a Prefect Secret block.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from remiss.core.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parents[3]

# setting name -> environment variable
_ENV = {
    "data_dir": "REMISS_DATA_DIR",
    "database_url": "REMISS_DATABASE_URL",
    "mail_backend": "REMISS_MAIL_BACKEND",
    "outbox_dir": "REMISS_OUTBOX_DIR",
    "base_url": "REMISS_BASE_URL",
    "timezone": "REMISS_TIMEZONE",
    "register": "REMISS_REGISTER",
    "reminder_policy": "REMISS_REMINDER_POLICY",
    "sender_address": "REMISS_SENDER_ADDRESS",
    "sender_name": "REMISS_SENDER_NAME",
    "send_lease_seconds": "REMISS_SEND_LEASE_SECONDS",
    "link_valid_days": "REMISS_LINK_VALID_DAYS",
    "upload_max_file_mb": "REMISS_UPLOAD_MAX_FILE_MB",
    "upload_max_total_mb": "REMISS_UPLOAD_MAX_TOTAL_MB",
    "upload_max_files": "REMISS_UPLOAD_MAX_FILES",
    "compile_grace_days": "REMISS_COMPILE_GRACE_DAYS",
    "anstand_max_days": "REMISS_ANSTAND_MAX_DAYS",
    "storage_grace_minutes": "REMISS_STORAGE_GRACE_MINUTES",
    "admin_password_hash": "REMISS_ADMIN_PASSWORD_HASH",
    "admin_sso_header": "REMISS_ADMIN_SSO_HEADER",
    "admin_group_header": "REMISS_ADMIN_GROUP_HEADER",
    "admin_roles": "REMISS_ADMIN_ROLES",
    "gallring": "REMISS_GALLRING",
    "trusted_proxies": "REMISS_TRUSTED_PROXIES",
    "smtp_host": "REMISS_SMTP_HOST",
    "smtp_port": "REMISS_SMTP_PORT",
    "smtp_security": "REMISS_SMTP_SECURITY",
    "smtp_username": "REMISS_SMTP_USERNAME",
    "smtp_ca_file": "REMISS_SMTP_CA_FILE",
    "smtp_timeout_seconds": "REMISS_SMTP_TIMEOUT_SECONDS",
    "inbox_dir": "REMISS_INBOX_DIR",
    "answer_trigger": "REMISS_ANSWER_TRIGGER",
    "operator_address": "REMISS_OPERATOR_ADDRESS",
    "alarm_block": "REMISS_ALARM_BLOCK",
    "mail_concurrency": "REMISS_MAIL_CONCURRENCY",
    "ews_url": "REMISS_EWS_URL",
    "ews_autodiscover": "REMISS_EWS_AUTODISCOVER",
    "ews_version": "REMISS_EWS_VERSION",
    "ews_auth": "REMISS_EWS_AUTH",
    "ews_username": "REMISS_EWS_USERNAME",
    "ews_client_id": "REMISS_EWS_CLIENT_ID",
    "ews_tenant_id": "REMISS_EWS_TENANT_ID",
    "ews_secret_block": "REMISS_EWS_SECRET_BLOCK",
    "ews_mailbox": "REMISS_EWS_MAILBOX",
    "ews_access": "REMISS_EWS_ACCESS",
    "ews_timeout_seconds": "REMISS_EWS_TIMEOUT_SECONDS",
    "ews_max_wait_seconds": "REMISS_EWS_MAX_WAIT_SECONDS",
    "ews_batch_size": "REMISS_EWS_BATCH_SIZE",
    "ews_processed_folder": "REMISS_EWS_PROCESSED_FOLDER",
    "ews_unmatched_folder": "REMISS_EWS_UNMATCHED_FOLDER",
    "graph_url": "REMISS_GRAPH_URL",
    "graph_authority": "REMISS_GRAPH_AUTHORITY",
    "graph_tenant_id": "REMISS_GRAPH_TENANT_ID",
    "graph_client_id": "REMISS_GRAPH_CLIENT_ID",
    "graph_secret_block": "REMISS_GRAPH_SECRET_BLOCK",
    "graph_mailbox": "REMISS_GRAPH_MAILBOX",
    "graph_ca_file": "REMISS_GRAPH_CA_FILE",
    "graph_batch_size": "REMISS_GRAPH_BATCH_SIZE",
}

# The SMTP backend's password has no key in the file: it is read from this variable only.
SMTP_PASSWORD_VARIABLE = "REMISS_SMTP_PASSWORD"  # noqa: S105 (a variable name)

# smtp_security: STARTTLS on the submission port, implicit TLS, or plain (loopback only).
SmtpSecurity = Literal["starttls", "tls", "none"]
SMTP_SECURITY_VALUES: tuple[SmtpSecurity, ...] = ("starttls", "tls", "none")

# How the answer page hands a stored answer on: its own worker thread runs the flow, or
# an event (remiss.answer.received) that a deployment trigger turns into a flow run.
AnswerTrigger = Literal["thread", "event"]
ANSWER_TRIGGER_VALUES: tuple[AnswerTrigger, ...] = ("thread", "event")

# The Exchange backend's secret (the password, or the OAuth2 client secret) has no key in
# the file either: this variable, or the Prefect Secret block named by ews_secret_block.
EWS_SECRET_VARIABLE = "REMISS_EWS_SECRET"  # noqa: S105 (a variable name)
EwsAuth = Literal["ntlm", "basic", "oauth2"]
EWS_AUTH_VALUES: tuple[EwsAuth, ...] = ("ntlm", "basic", "oauth2")
EwsAccess = Literal["delegate", "impersonation"]
EWS_ACCESS_VALUES: tuple[EwsAccess, ...] = ("delegate", "impersonation")

# The Microsoft Graph backend's client secret: this variable, or the Prefect Secret block
# named by graph_secret_block. It shares ews_timeout_seconds, ews_max_wait_seconds and the
# ews_*_folder names with the EWS backend (one retry budget, one set of folders).
GRAPH_SECRET_VARIABLE = "REMISS_GRAPH_SECRET"  # noqa: S105 (a variable name)
GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_AUTHORITY = "https://login.microsoftonline.com"

# An anstånd reaches at most this many calendar days past the round's deadline.
DEFAULT_ANSTAND_MAX_DAYS = 60

# Positive integers, with their defaults.
_INTEGERS = {
    "send_lease_seconds": 300,
    "link_valid_days": 90,
    "upload_max_file_mb": 25,
    "upload_max_total_mb": 100,
    "upload_max_files": 10,
    "compile_grace_days": 3,
    "anstand_max_days": DEFAULT_ANSTAND_MAX_DAYS,
    "storage_grace_minutes": 60,
    "smtp_timeout_seconds": 30,
    "mail_concurrency": 4,
    "ews_timeout_seconds": 60,
    "ews_max_wait_seconds": 180,
    "ews_batch_size": 100,
    "graph_batch_size": 20,
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    mail_backend: str
    outbox_dir: Path
    base_url: str
    timezone: str
    register: Path
    reminder_policy: Path
    sender_address: str
    sender_name: str
    send_lease_seconds: int
    link_valid_days: int = 90
    upload_max_file_mb: int = 25
    upload_max_total_mb: int = 100
    upload_max_files: int = 10
    compile_grace_days: int = 3
    anstand_max_days: int = DEFAULT_ANSTAND_MAX_DAYS
    # Files in the documents folder that no row references, and temp files, are left alone
    # this long: an upload in flight in another process has written its file but not yet
    # committed its row.
    storage_grace_minutes: int = 60
    admin_password_hash: str | None = None
    admin_sso_header: str | None = None
    admin_group_header: str | None = None
    # user name or "grupp:<group>" -> role (core.states.Role); empty: everyone logged in
    # is a handläggare.
    admin_roles: dict[str, str] = field(default_factory=dict)
    # Gallring: kind -> days (RETENTION_KINDS); empty: nothing is ever deleted.
    gallring: dict[str, int] = field(default_factory=dict)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    secret_key_override: str | None = None
    templates_dir: Path = field(default=PROJECT_ROOT / "templates")
    source: str = "standardvärden"
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str | None = None
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: int = 30
    inbox_dir: Path | None = None
    answer_trigger: AnswerTrigger = "thread"
    operator_address: str | None = None
    alarm_block: str | None = None
    mail_concurrency: int = 4
    ews_url: str | None = None
    ews_autodiscover: bool = False
    ews_version: str = "Exchange2016"
    ews_auth: EwsAuth = "ntlm"
    ews_username: str | None = None
    ews_client_id: str | None = None
    ews_tenant_id: str | None = None
    ews_secret_block: str | None = None
    ews_mailbox: str | None = None
    ews_access: EwsAccess = "delegate"
    ews_timeout_seconds: int = 60
    ews_max_wait_seconds: int = 180
    ews_batch_size: int = 100
    ews_processed_folder: str = "Remiss behandlade"
    ews_unmatched_folder: str = "Remiss omatchade"
    graph_url: str = GRAPH_URL
    graph_authority: str = GRAPH_AUTHORITY
    graph_tenant_id: str | None = None
    graph_client_id: str | None = None
    graph_secret_block: str | None = None
    graph_mailbox: str | None = None
    graph_ca_file: Path | None = None
    graph_batch_size: int = 20

    @property
    def inbox_path(self) -> Path:
        """The outbox backend's inbox: .eml files dropped here are read by the mailbox poll."""
        return self.inbox_dir or self.data_dir / "inbox"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    def secret_key(self) -> bytes:
        """REMISS_SECRET_KEY, or a random key kept in the data folder (created on first use)."""
        if self.secret_key_override:
            return self.secret_key_override.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            _create_once(path, secrets.token_urlsafe(48).encode())
        return path.read_bytes().strip()


def _create_once(path: Path, content: bytes) -> None:
    """Create `path` with `content` unless it exists; whole or not at all.

    Several processes may start at once on a fresh data folder: each writes its own
    temporary file and links it into place, and the first link wins, so nobody ever
    reads a half-written or empty file, and nobody fails because another was first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _smtp_host(value: object, *, source: str) -> str | None:
    """A host name or IP address (an IPv6 address with or without brackets); no scheme or port."""
    host = str(value or "").strip()
    if not host:
        return None
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host.removeprefix("[").removesuffix("]")))
        except ValueError:
            pass
    elif not any(c.isspace() or c in "/@[]" for c in host):
        return host
    raise InputError(
        "ska vara ett värdnamn eller en IP-adress, utan schema och port (porten i smtp_port)",
        source=source,
        field="smtp_host",
        value=value,
    )


def _alarm_block(value: object, *, source: str) -> str | None:
    """A Prefect block's `type-slug/name`, the form `Block.load` takes (no block's class
    needs to be named)."""
    if value is None or value == "":
        return None
    text = str(value).strip() if isinstance(value, str) else ""
    kind, _, name = text.partition("/")
    if not kind or not name or "/" in name or any(c.isspace() for c in kind):
        raise InputError(
            "ska vara blockets typ och namn, t.ex. ms-teams-webhook/remiss-larm",
            source=source,
            field="alarm_block",
            value=value,
        )
    return text


ROLE_VALUES = ("handlaggare", "lasare")


def _admin_roles(value: object, *, source: str) -> dict[str, str]:
    """`{user or grupp:<group>: role}` from the file, or `anna=handlaggare;grupp:x=lasare`
    from the environment."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs: list[tuple[object, object]] = []
        for part in value.split(";"):
            if part.strip():
                user, sep, given = part.partition("=")
                if not sep:
                    raise InputError(
                        "ska vara par som anna=handlaggare, åtskilda med semikolon",
                        source=source,
                        field="admin_roles",
                        value=part.strip(),
                    )
                pairs.append((user.strip(), given.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise InputError(
            "ska vara användare eller grupper med sin roll", source=source, field="admin_roles"
        )
    roles: dict[str, str] = {}
    for name, role in pairs:
        if not isinstance(name, str) or not name.strip():
            raise InputError(
                "ett användarnamn saknas", source=source, field="admin_roles", value=name
            )
        if role not in ROLE_VALUES:
            raise InputError(
                f"rollen ska vara {' eller '.join(ROLE_VALUES)}",
                source=source,
                field=f"admin_roles.{name}",
                value=role,
            )
        roles[name.strip()] = str(role)
    return roles


# Gallring: what may be deleted, by kind, after how many days (docs/operations/retention.md).
RETENTION_KINDS: dict[str, str] = {
    "utgaende_epostkopior": "kopior av skickad e-post i utkorgsmappen (outbox_dir)",
    "preliminara_sammanstallningar": "preliminära remissammanställningar i avslutade omgångar",
    "arkivpaket": "arkivpaket som redan är skapade (inte det senaste för en omgång)",
}
# Never deleted, whatever the settings say: the public records themselves.
NEVER_DELETED: dict[str, str] = {
    "remissvar": "remissvar och deras filer",
    "handlingar": "ärendets handlingar",
    "handelser": "händelseloggen",
    "atgardslogg": "åtgärdsloggen",
    "beslut": "beslutet och protokollsutdraget",
    "meddelanden": "uppgifterna om skickade meddelanden",
}


def _retention(value: object, *, source: str) -> dict[str, int]:
    """`{kind: days}` from the file, or `utgaende_epostkopior=365,arkivpaket=90` from the
    environment; a kind left out or set to null is never deleted."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs: list[tuple[object, object]] = []
        for part in value.split(","):
            if part.strip():
                left, sep, right = part.partition("=")
                if not sep:
                    raise InputError(
                        "ska vara par som utgaende_epostkopior=365, åtskilda med kommatecken",
                        source=source,
                        field="gallring",
                        value=part.strip(),
                    )
                pairs.append((left.strip(), right.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise InputError(
            "ska vara slag av handlingar med antal dagar", source=source, field="gallring"
        )
    rules: dict[str, int] = {}
    for named, days in pairs:
        kind = str(named)
        if kind in NEVER_DELETED:
            raise InputError(
                f"{NEVER_DELETED[kind]} är allmänna handlingar som aldrig gallras",
                source=source,
                field=f"gallring.{kind}",
            )
        if kind not in RETENTION_KINDS:
            raise InputError(
                f"okänt slag; välj bland {', '.join(RETENTION_KINDS)}",
                source=source,
                field="gallring",
                value=kind,
            )
        if days is None or days == "" or days == "aldrig":
            continue
        try:
            number = int(str(days))
        except ValueError:
            number = 0
        if number < 1:
            raise InputError(
                "ska vara ett antal dagar (minst 1), eller aldrig",
                source=source,
                field=f"gallring.{kind}",
                value=days,
            )
        rules[kind] = number
    return rules


def _trusted_proxies(
    value: object, *, source: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """IP addresses or networks (CIDR), as a list or separated by commas."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InputError(
            "ska vara en lista med IP-adresser eller nät", source=source, field="trusted_proxies"
        )
    networks = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise InputError(
                "ska vara IP-adresser eller nät, t.ex. 10.0.0.5 eller 10.0.0.0/24",
                source=source,
                field="trusted_proxies",
                value=text,
            ) from exc
    return tuple(networks)


def _default_config_file() -> Path:
    return PROJECT_ROOT / "config" / "settings.yaml"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    path = Path(env["REMISS_CONFIG"]) if env.get("REMISS_CONFIG") else _default_config_file()
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"filen är inte giltig YAML: {exc}", source=str(path)) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError("filen ska innehålla nycklar och värden", source=str(path))
        raw = loaded or {}
    elif env.get("REMISS_CONFIG"):
        raise InputError("inställningsfilen finns inte", source=str(path))
    unknown = sorted(map(str, set(raw) - set(_ENV)))
    if unknown:
        raise InputError(
            f"okänd inställning; giltiga är {', '.join(sorted(_ENV))}",
            source=str(path),
            field=unknown[0],
        )
    # Relative paths in the file are taken from the folder that holds config/;
    # relative paths in environment variables from the current directory.
    from_env = set()
    for key, var in _ENV.items():
        if env.get(var):
            raw[key] = env[var]
            from_env.add(key)
    file_base = path.resolve().parent.parent

    def resolve_key(key: str) -> Path:
        p = Path(str(raw[key])).expanduser()
        if p.is_absolute():
            return p
        return ((Path.cwd() if key in from_env else file_base) / p).resolve()

    raw.setdefault("data_dir", "data")

    data_dir = resolve_key("data_dir")
    timezone = str(raw.get("timezone", "Europe/Stockholm"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            "okänd tidszon", source=str(path), field="timezone", value=timezone
        ) from exc
    integers: dict[str, int] = {}
    for key, default in _INTEGERS.items():
        value = raw.get(key, default)
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise InputError(
                "ska vara ett heltal", source=str(path), field=key, value=value
            ) from exc
        if number < 1:
            # e.g. with no send lease, a live sender's claim would be taken over: sent twice.
            raise InputError("ska vara minst 1", source=str(path), field=key, value=value)
        integers[key] = number
    base_url = str(raw.get("base_url", "http://127.0.0.1:8000")).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise InputError(
            "ska börja med http:// eller https://",
            source=str(path),
            field="base_url",
            value=base_url,
        )
    smtp_security = str(raw.get("smtp_security") or "starttls").strip().lower()
    if smtp_security not in SMTP_SECURITY_VALUES:
        raise InputError(
            f"ska vara {', '.join(SMTP_SECURITY_VALUES)}",
            source=str(path),
            field="smtp_security",
            value=raw.get("smtp_security"),
        )
    smtp_port: int | None = None
    if raw.get("smtp_port") not in (None, ""):
        value = raw["smtp_port"]
        try:
            smtp_port = int(value)
        except (TypeError, ValueError) as exc:
            raise InputError(
                "ska vara ett portnummer (heltal)", source=str(path), field="smtp_port", value=value
            ) from exc
        if not 1 <= smtp_port <= 65535:
            raise InputError(
                "ska vara ett portnummer mellan 1 och 65535",
                source=str(path),
                field="smtp_port",
                value=value,
            )
    for key in ("smtp_host", "smtp_username"):
        if raw.get(key) is not None and not isinstance(raw[key], str | int):
            raise InputError("ska vara en text", source=str(path), field=key, value=raw[key])
    smtp_host = _smtp_host(raw.get("smtp_host"), source=str(path))
    ews = _ews_settings(raw, source=str(path))
    alarm_block = _alarm_block(raw.get("alarm_block"), source=str(path))
    answer_trigger = str(raw.get("answer_trigger") or "thread").strip().lower()
    if answer_trigger not in ANSWER_TRIGGER_VALUES:
        raise InputError(
            "ska vara thread eller event",
            source=str(path),
            field="answer_trigger",
            value=raw.get("answer_trigger"),
        )
    budget = integers["ews_max_wait_seconds"] + integers["ews_timeout_seconds"]
    if (
        raw.get("mail_backend") in ("exchange", "graph")
        and budget >= integers["send_lease_seconds"]
    ):
        # A sender still retrying when its claim runs out can be taken over by another
        # process, and the message goes out twice (issue 23).
        raise InputError(
            f"ews_max_wait_seconds + ews_timeout_seconds ({budget} s) ska vara kortare än "
            f"send_lease_seconds ({integers['send_lease_seconds']} s): annars kan en annan "
            "process ta över ett utskick som fortfarande skickas, och det går ut två gånger",
            source=str(path),
            field="ews_max_wait_seconds",
            value=raw.get("ews_max_wait_seconds", integers["ews_max_wait_seconds"]),
        )
    if integers["ews_batch_size"] > 100:
        # EWS servers refuse larger CreateItem requests under the default throttling policy.
        raise InputError(
            "ska vara högst 100",
            source=str(path),
            field="ews_batch_size",
            value=raw["ews_batch_size"],
        )
    return Settings(
        data_dir=data_dir,
        database_url=str(raw.get("database_url") or f"sqlite:///{data_dir / 'remiss.db'}"),
        mail_backend=str(raw.get("mail_backend", "outbox")),
        outbox_dir=resolve_key("outbox_dir") if raw.get("outbox_dir") else data_dir / "outbox",
        base_url=base_url,
        timezone=timezone,
        register=resolve_key("register")
        if raw.get("register")
        else PROJECT_ROOT / "config" / "remissinstanser.yaml",
        reminder_policy=resolve_key("reminder_policy")
        if raw.get("reminder_policy")
        else PROJECT_ROOT / "config" / "paminnelser.yaml",
        sender_address=str(raw.get("sender_address", "remiss@stockholm.example")),
        sender_name=str(raw.get("sender_name", "Stadsledningskontoret")),
        send_lease_seconds=integers["send_lease_seconds"],
        link_valid_days=integers["link_valid_days"],
        upload_max_file_mb=integers["upload_max_file_mb"],
        upload_max_total_mb=integers["upload_max_total_mb"],
        upload_max_files=integers["upload_max_files"],
        compile_grace_days=integers["compile_grace_days"],
        anstand_max_days=integers["anstand_max_days"],
        storage_grace_minutes=integers["storage_grace_minutes"],
        admin_password_hash=str(raw["admin_password_hash"])
        if raw.get("admin_password_hash")
        else None,
        admin_sso_header=str(raw["admin_sso_header"]) if raw.get("admin_sso_header") else None,
        admin_group_header=str(raw["admin_group_header"])
        if raw.get("admin_group_header")
        else None,
        admin_roles=_admin_roles(raw.get("admin_roles"), source=str(path)),
        gallring=_retention(raw.get("gallring"), source=str(path)),
        trusted_proxies=_trusted_proxies(
            raw.get("trusted_proxies", "127.0.0.1, ::1"), source=str(path)
        ),
        secret_key_override=env.get("REMISS_SECRET_KEY") or None,
        source=str(path) if path.exists() else "standardvärden",
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        smtp_username=str(raw["smtp_username"]) if raw.get("smtp_username") else None,
        smtp_ca_file=resolve_key("smtp_ca_file") if raw.get("smtp_ca_file") else None,
        smtp_timeout_seconds=integers["smtp_timeout_seconds"],
        inbox_dir=resolve_key("inbox_dir") if raw.get("inbox_dir") else None,
        answer_trigger=answer_trigger,
        operator_address=str(raw["operator_address"]) if raw.get("operator_address") else None,
        alarm_block=alarm_block,
        mail_concurrency=integers["mail_concurrency"],
        ews_timeout_seconds=integers["ews_timeout_seconds"],
        ews_max_wait_seconds=integers["ews_max_wait_seconds"],
        ews_batch_size=integers["ews_batch_size"],
        graph_batch_size=integers["graph_batch_size"],
        graph_ca_file=resolve_key("graph_ca_file") if raw.get("graph_ca_file") else None,
        **ews,
    )


def _ews_settings(raw: dict[str, Any], *, source: str) -> dict[str, Any]:
    """The Exchange backend's settings other than its integers (see config/settings.yaml)."""

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str | int):
            raise InputError("ska vara en text", source=source, field=key, value=value)
        return str(value).strip() or None

    def choice(key: str, values: tuple[str, ...]) -> str:
        value = (text(key) or values[0]).lower()
        if value not in values:
            raise InputError(
                f"ska vara {' eller '.join(values)}", source=source, field=key, value=raw.get(key)
            )
        return value

    url = text("ews_url")
    if url is not None and not url.startswith(("https://", "http://")):
        raise InputError(
            "ska vara EWS-adressen, t.ex. https://mail.stockholm.example/EWS/Exchange.asmx",
            source=source,
            field="ews_url",
            value=url,
        )
    graph_url = (text("graph_url") or GRAPH_URL).rstrip("/")
    graph_authority = (text("graph_authority") or GRAPH_AUTHORITY).rstrip("/")
    for key, value in (("graph_url", graph_url), ("graph_authority", graph_authority)):
        # msal accepts only an https authority; a token sent over plain http could be read.
        if not value.startswith("https://"):
            raise InputError("ska börja med https://", source=source, field=key, value=raw.get(key))
    autodiscover = str(raw.get("ews_autodiscover", "false")).strip().lower()
    if autodiscover not in ("true", "false", "1", "0", "yes", "no", "ja", "nej"):
        raise InputError(
            "ska vara true eller false", source=source, field="ews_autodiscover", value=autodiscover
        )
    return {
        "ews_url": url,
        "ews_autodiscover": autodiscover in ("true", "1", "yes", "ja"),
        "ews_version": text("ews_version") or "Exchange2016",
        "ews_auth": choice("ews_auth", EWS_AUTH_VALUES),
        "ews_username": text("ews_username"),
        "ews_client_id": text("ews_client_id"),
        "ews_tenant_id": text("ews_tenant_id"),
        "ews_secret_block": text("ews_secret_block"),
        "ews_mailbox": text("ews_mailbox"),
        "ews_access": choice("ews_access", EWS_ACCESS_VALUES),
        "ews_processed_folder": text("ews_processed_folder") or "Remiss behandlade",
        "ews_unmatched_folder": text("ews_unmatched_folder") or "Remiss omatchade",
        "graph_url": graph_url,
        "graph_authority": graph_authority,
        "graph_tenant_id": text("graph_tenant_id"),
        "graph_client_id": text("graph_client_id"),
        "graph_secret_block": text("graph_secret_block"),
        "graph_mailbox": text("graph_mailbox"),
    }
