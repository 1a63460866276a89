"""Where things live: the default database, environment overrides, the acting agent."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "ticketdesk"
ENV_DB = "TICKETDESK_DB"
ENV_AGENT = "TICKETDESK_AGENT"


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
