"""Where things live: the default database, environment overrides, the acting agent, and the
settings of the config file.

The settings are read once, by the entry point (the CLI's commands, the TUI), which hands
down what the layers below need (`Store(masked_fields=..., mail_domain=...)`, the
`MailSettings` of the mail channel); the store and the channels never open the file.
"""

from __future__ import annotations

import dataclasses
import getpass
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_config_dir, user_data_dir

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

APP_NAME = "ticketdesk"
ENV_DB = "TICKETDESK_DB"
ENV_AGENT = "TICKETDESK_AGENT"
ENV_CONFIG = "TICKETDESK_CONFIG"
ENV_SMTP_PASSWORD = "TICKETDESK_SMTP_PASSWORD"
ENV_IMAP_PASSWORD = "TICKETDESK_IMAP_PASSWORD"


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class MailSettings:
    """The `[mail]` section: how this host sends and receives the desk's mail.

    Secrets may stay out of the file: the SMTP and IMAP passwords are read from
    TICKETDESK_SMTP_PASSWORD / TICKETDESK_IMAP_PASSWORD when the file has none.
    """

    #: the desk's address, the From of every reply, e.g. "Acme Support <support@acme.example>"
    from_address: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 25
    #: "none", "starttls" or "ssl"
    smtp_security: str = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    imap_password: str = ""
    #: where attachments are kept; empty: in the database
    attachments_dir: str = ""
    #: larger attachments are not stored (the ticket notes that one was dropped)
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: where messages that cannot be parsed are kept, with the reason; empty: the user data dir
    failed_dir: str = ""
    #: delivery attempts before a reply is marked failed for good
    max_attempts: int = 8
    #: seconds a public reply waits in the outbox before any sender may take it: the agent's
    #: time to undo it (`u`, `ticketdesk undo`)
    send_delay: float = 20.0

    @property
    def domain(self) -> str:
        """The domain of `from_address`, for Message-IDs; a reserved name when unset."""
        from email.utils import parseaddr

        _, addr = parseaddr(self.from_address)
        return addr.rpartition("@")[2].strip().lower() or "ticketdesk.invalid"

    def failed_path(self) -> Path:
        return (
            Path(self.failed_dir).expanduser()
            if self.failed_dir
            else Path(user_data_dir(APP_NAME, appauthor=False)) / "mail-failed"
        )


@dataclass(frozen=True)
class UiSettings:
    """The `[ui]` section: how this agent reads the desk."""

    #: the time zone times are shown in, e.g. "Asia/Shanghai"; empty: the desk's (its default
    #: SLA calendar's, else UTC)
    timezone: str = ""


@dataclass(frozen=True)
class SshSettings:
    """The `[ssh]` section: where `serve ssh` listens, its host key and its limits. The
    command's options win over these (`--listen`, `--host-key`, `--idle-timeout`,
    `--sessions-per-agent`, `--max-sessions`, `--max-auth-failures`)."""

    #: HOST:PORT; an IPv6 host in brackets, "[::]:2222"
    listen: str = "0.0.0.0:2222"
    #: seconds without a key from the client before a session is closed; 0: never
    idle_timeout: float = 3600.0
    #: live sessions one agent may have, and the server in total
    sessions_per_agent: int = 3
    sessions: int = 50
    #: failed logins one source address may make in a minute before it is turned away
    auth_failures_per_minute: int = 10
    #: the host key file (absolute, or from ~); empty: ssh_host_ed25519_key in the data dir
    host_key: str = ""

    def host_key_path(self) -> Path:
        return (
            Path(self.host_key).expanduser()
            if self.host_key
            else Path(user_data_dir(APP_NAME, appauthor=False)) / "ssh_host_ed25519_key"
        )


def split_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets) as (host, port); a ValueError saying what is wrong."""
    host, _, port = value.rpartition(":")
    if not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f'expected HOST:PORT with a port from 1 to 65535, e.g. "0.0.0.0:2222", got {value!r}')
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Settings:
    #: binding id -> keys, e.g. {"queue.assign_me": "ctrl+a"}
    keymap: dict[str, str] = field(default_factory=dict)
    #: personal-data fields masked besides the defaults (customer email and phone)
    masking_fields: tuple[str, ...] = ()
    mail: MailSettings = field(default_factory=MailSettings)
    ssh: SshSettings = field(default_factory=SshSettings)
    ui: UiSettings = field(default_factory=UiSettings)


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
    unknown = set(data) - {"keymap", "tui", "ui", "masking", "mail", "ssh"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown section or key {sorted(unknown)[0]!r} (known: keymap, ui, masking, mail, ssh)"
        )
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) and v for v in keymap.values()):
        raise ConfigError(f'{path}: [keymap] maps binding ids to keys, e.g. "queue.assign_me" = "ctrl+a"')
    tui = data.get("tui", {})
    # `poll_interval` set how often the screens polled; they follow the database's change
    # feed now (widgets/desk_watch.py). Older config files still load: the key is ignored.
    if not isinstance(tui, dict) or set(tui) - {"poll_interval"}:
        extra = sorted(set(tui) - {"poll_interval"}) if isinstance(tui, dict) else ["(not a table)"]
        raise ConfigError(f"{path}: [tui] unknown key {extra[0]!r} (the section has no settings now)")
    return Settings(
        keymap=dict(keymap),
        masking_fields=_masking_fields(path, data),
        mail=_mail_settings(path, data.get("mail", {})),
        ssh=_ssh_settings(path, data.get("ssh", {})),
        ui=_ui_settings(path, data.get("ui", {})),
    )


_SMTP_SECURITY = ("none", "starttls", "ssl")
_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number"}


def _typed_values(path: Path, name: str, section: object, defaults: DataclassInstance) -> dict[str, object]:
    """A section's keys checked against the fields of the dataclass `defaults` is an instance
    of, and their values against the types of its defaults (a whole number passes as a float)."""
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{name}] must be a table of settings")
    fields = {f.name: type(getattr(defaults, f.name)) for f in dataclasses.fields(defaults)}
    values: dict[str, object] = {}
    for key, value in section.items():
        if key not in fields:
            raise ConfigError(f"{path}: [{name}] unknown key {key!r} (known: {', '.join(fields)})")
        expected = fields[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(f"{path}: [{name}] {key} must be {_TYPE_NAMES[expected]}")
        values[key] = value
    return values


def _ui_settings(path: Path, section: object) -> UiSettings:
    from ticketdesk.rules.calendar_fields import check_timezone

    ui = UiSettings(**_typed_values(path, "ui", section, UiSettings()))  # type: ignore[arg-type]
    if ui.timezone:
        try:
            check_timezone(ui.timezone)
        except ValueError as exc:
            raise ConfigError(f"{path}: [ui] {exc}") from None
    return ui


def _ssh_settings(path: Path, section: object) -> SshSettings:
    """`[ssh]`: every key checked, each bad value named in one line."""
    ssh = SshSettings(**_typed_values(path, "ssh", section, SshSettings()))  # type: ignore[arg-type]
    try:
        split_listen(ssh.listen)
    except ValueError as exc:
        raise ConfigError(f"{path}: [ssh] listen: {exc}") from None
    if not math.isfinite(ssh.idle_timeout) or ssh.idle_timeout < 0:
        raise ConfigError(f"{path}: [ssh] idle_timeout must be a number of seconds, 0 or more (0: never)")
    for key in ("sessions_per_agent", "sessions", "auth_failures_per_minute"):
        if getattr(ssh, key) < 1:
            raise ConfigError(f"{path}: [ssh] {key} must be 1 or more")
    if ssh.host_key and not Path(ssh.host_key).expanduser().is_absolute():
        # a relative path would depend on the directory the server happens to start in
        raise ConfigError(f"{path}: [ssh] host_key must be an absolute path (or start with ~), got {ssh.host_key!r}")
    return ssh


def _mail_settings(path: Path, section: object) -> MailSettings:
    """`[mail]`: every key is checked against MailSettings' fields and their types."""
    mail = MailSettings(**_typed_values(path, "mail", section, MailSettings()))  # type: ignore[arg-type]
    if mail.smtp_security not in _SMTP_SECURITY:
        raise ConfigError(f"{path}: [mail] smtp_security must be one of {', '.join(_SMTP_SECURITY)}")
    if not 0 < mail.smtp_port < 65536:
        raise ConfigError(f"{path}: [mail] smtp_port must be between 1 and 65535")
    if not 0 <= mail.send_delay <= 3600:
        raise ConfigError(f"{path}: [mail] send_delay must be between 0 and 3600 seconds")
    if mail.max_attachment_bytes < 0 or mail.max_attempts < 1:
        raise ConfigError(f"{path}: [mail] max_attachment_bytes must be >= 0 and max_attempts >= 1")
    if mail.from_address:
        _check_from_address(path, mail.from_address)
    return mail


def _check_from_address(path: Path, value: str) -> None:
    """`Name <address>` or a bare address, one line, the address checked by a real parser."""
    from email.utils import parseaddr

    from ticketdesk.rules.text import has_control, validate_email

    example = 'e.g. "Support <support@acme.example>"'
    if has_control(value):
        raise ConfigError(f"{path}: [mail] from_address contains a control character ({example})")
    _, addr = parseaddr(value)
    if "@" not in addr and "@" in value:
        addr = value.strip()  # parseaddr gave up on it: let the real parser say why
    if "@" not in addr:
        raise ConfigError(f"{path}: [mail] from_address must be an address, {example}")
    try:
        validate_email(addr, "from_address")
    except ValueError as exc:
        raise ConfigError(f"{path}: [mail] {exc}") from None


def current_settings() -> Settings:
    """The settings of this run: the config file (TICKETDESK_CONFIG, else the user config
    dir), the SMTP and IMAP passwords from the environment where the file has none."""
    settings = load_settings()
    mail = dataclasses.replace(
        settings.mail,
        smtp_password=settings.mail.smtp_password or os.environ.get(ENV_SMTP_PASSWORD, ""),
        imap_password=settings.mail.imap_password or os.environ.get(ENV_IMAP_PASSWORD, ""),
    )
    return dataclasses.replace(settings, mail=mail)


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
