"""Where things live: the default database, environment overrides, the acting agent."""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP_NAME = "ticketdesk"
ENV_DB = "TICKETDESK_DB"
ENV_AGENT = "TICKETDESK_AGENT"
ENV_CONFIG = "TICKETDESK_CONFIG"


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Settings:
    #: binding id -> keys, e.g. {"queue.assign_me": "ctrl+a"}
    keymap: dict[str, str] = field(default_factory=dict)
    #: seconds between checks of the change marker in live screens
    poll_interval: float = 1.0
    #: personal-data fields masked besides the defaults (customer email and phone)
    masking_fields: tuple[str, ...] = ()


def config_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG) or Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml")


def load_settings(path: Path | None = None) -> Settings:
    """Read config.toml if there is one. Unknown keys are refused, so typos do not pass silently."""
    path = path or config_path()
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = set(data) - {"keymap", "tui", "masking"}
    if unknown:
        raise ConfigError(f"{path}: unknown section or key {sorted(unknown)[0]!r} (known: keymap, tui, masking)")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) and v for v in keymap.values()):
        raise ConfigError(f'{path}: [keymap] maps binding ids to keys, e.g. "queue.assign_me" = "ctrl+a"')
    tui = data.get("tui", {})
    interval = tui.get("poll_interval", 1.0) if isinstance(tui, dict) else None
    if not isinstance(interval, int | float) or not 0.2 <= interval <= 60:
        raise ConfigError(f"{path}: [tui] poll_interval must be a number of seconds between 0.2 and 60")
    return Settings(keymap=dict(keymap), poll_interval=float(interval), masking_fields=_masking_fields(path, data))


def _masking_fields(path: Path, data: dict) -> tuple[str, ...]:
    """`[masking] fields = ["customer", "organisation"]`: masked on top of email and phone."""
    from ticketdesk.rules.masking import KNOWN_FIELDS

    masking = data.get("masking", {})
    if not isinstance(masking, dict) or set(masking) - {"fields"}:
        raise ConfigError(f'{path}: [masking] has one key, fields = ["customer", ...]')
    fields = masking.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f'{path}: [masking] fields is a list of field names, e.g. ["customer", "organisation"]')
    for name in fields:
        if name not in KNOWN_FIELDS:
            raise ConfigError(
                f"{path}: [masking] fields: unknown field {name!r} (known: {', '.join(sorted(KNOWN_FIELDS))})"
            )
    return tuple(fields)


def default_db_path() -> Path:
    return Path(user_data_dir(APP_NAME, appauthor=False)) / "ticketdesk.db"


def resolve_db_url(db: str | None) -> str:
    """`--db` wins, then TICKETDESK_DB, then the SQLite file in the user data dir.

    A bare path (no ``://``) is taken as a SQLite file.
    """
    value = db or os.environ.get(ENV_DB) or ""
    if not value:
        return f"sqlite:///{default_db_path()}"
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def resolve_agent_login(login: str | None) -> str:
    """`--as` wins, then TICKETDESK_AGENT, then the OS user."""
    if login:
        return login
    env = os.environ.get(ENV_AGENT)
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "admin"
