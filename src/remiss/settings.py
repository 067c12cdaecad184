"""Settings: a YAML file in config/ overridden by REMISS_* environment variables.

No secret belongs in the file; secrets (later: mail credentials) come from the
environment or a Prefect Secret block.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from remiss.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# setting name -> environment variable
_ENV = {
    "data_dir": "REMISS_DATA_DIR",
    "database_url": "REMISS_DATABASE_URL",
    "mail_backend": "REMISS_MAIL_BACKEND",
    "outbox_dir": "REMISS_OUTBOX_DIR",
    "base_url": "REMISS_BASE_URL",
    "timezone": "REMISS_TIMEZONE",
    "register": "REMISS_REGISTER",
    "sender_address": "REMISS_SENDER_ADDRESS",
    "sender_name": "REMISS_SENDER_NAME",
    "send_lease_seconds": "REMISS_SEND_LEASE_SECONDS",
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
    sender_address: str
    sender_name: str
    send_lease_seconds: int
    templates_dir: Path = field(default=PROJECT_ROOT / "templates")
    source: str = "standardvärden"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"


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
    lease = raw.get("send_lease_seconds", 300)
    try:
        lease_seconds = int(lease)
    except (TypeError, ValueError) as exc:
        raise InputError(
            "ska vara ett heltal (sekunder)",
            source=str(path),
            field="send_lease_seconds",
            value=lease,
        ) from exc
    if lease_seconds < 1:
        # With no lease, a live sender's claim would be taken over at once: sent twice.
        raise InputError(
            "ska vara minst 1 (sekunder)", source=str(path), field="send_lease_seconds", value=lease
        )
    base_url = str(raw.get("base_url", "http://127.0.0.1:8000")).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise InputError(
            "ska börja med http:// eller https://",
            source=str(path),
            field="base_url",
            value=base_url,
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
        sender_address=str(raw.get("sender_address", "remiss@stockholm.example")),
        sender_name=str(raw.get("sender_name", "Stadsledningskontoret")),
        send_lease_seconds=lease_seconds,
        source=str(path) if path.exists() else "standardvärden",
    )
