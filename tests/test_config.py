"""The config file: keymap and TUI settings, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketdesk.config import ConfigError, Settings, load_settings, resolve_db_url


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == Settings()


def test_keymap_and_an_older_file_s_poll_interval(tmp_path: Path) -> None:
    """The screens follow the change feed now: an old `[tui] poll_interval` still loads."""
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\n"queue.assign_me" = "ctrl+a"\n[tui]\npoll_interval = 2\n')
    settings = load_settings(path)
    assert settings.keymap == {"queue.assign_me": "ctrl+a"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[keymap\n", "config.toml"),
        ("[colours]\n", "unknown section or key 'colours'"),
        ('[keymap]\n"queue.assign_me" = 3\n', "[keymap] maps binding ids"),
        ("[tui]\nrefresh = 1\n", "[tui] unknown key 'refresh'"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[")):
        load_settings(path)


def test_db_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKETDESK_DB", raising=False)
    assert resolve_db_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_db_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("TICKETDESK_DB", "sqlite:////srv/td.db")
    assert resolve_db_url(None) == "sqlite:////srv/td.db"
    assert resolve_db_url(None).startswith("sqlite:///")


def test_mail_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ticketdesk.config import ENV_CONFIG, ENV_SMTP_PASSWORD, current_settings

    path = tmp_path / "config.toml"
    path.write_text(
        '[mail]\nfrom_address = "Acme Support <support@acme.example>"\nsmtp_host = "mx.acme.example"\n'
        'smtp_port = 587\nsmtp_security = "starttls"\nsmtp_username = "desk"\nsmtp_timeout = 5\n'
    )
    mail = load_settings(path).mail
    assert (mail.smtp_host, mail.smtp_port, mail.smtp_security, mail.smtp_timeout) == (
        "mx.acme.example",
        587,
        "starttls",
        5.0,
    )
    assert mail.domain == "acme.example"
    monkeypatch.setenv(ENV_CONFIG, str(path))
    monkeypatch.setenv(ENV_SMTP_PASSWORD, "s3cret")
    assert current_settings().mail.smtp_password == "s3cret"
    assert current_settings().mail.smtp_host == "mx.acme.example"  # the rest from the file


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[mail]\nsmtp_hots = "x"\n', "unknown key 'smtp_hots'"),
        ('[mail]\nsmtp_port = "25"\n', "smtp_port must be a whole number"),
        ('[mail]\nsmtp_security = "tls"\n', "smtp_security must be one of"),
        ('[mail]\nfrom_address = "support"\n', "from_address must be an address"),
        ("[mail]\nmax_attempts = 0\n", "max_attempts"),
    ],
)
def test_bad_mail_section_names_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_settings(path)


def test_ssh_section(tmp_path: Path) -> None:
    from ticketdesk.config import SshSettings

    path = tmp_path / "config.toml"
    path.write_text(
        '[ssh]\nlisten = "[::1]:2200"\nidle_timeout = 0\nsessions_per_agent = 1\nsessions = 7\n'
        'auth_failures_per_minute = 4\nhost_key = "~/keys/desk_host_key"\n'
    )
    ssh = load_settings(path).ssh
    assert (ssh.listen, ssh.idle_timeout, ssh.sessions_per_agent, ssh.sessions, ssh.auth_failures_per_minute) == (
        "[::1]:2200",
        0.0,
        1,
        7,
        4,
    )
    assert ssh.host_key_path() == Path.home() / "keys" / "desk_host_key"
    assert SshSettings().host_key_path().name == "ssh_host_ed25519_key"  # in the data directory


def test_the_ssh_sections_defaults_are_the_servers(tmp_path: Path) -> None:
    """A file without [ssh] gives the server the limits it has always had."""
    from ticketdesk.ssh.server import Limits, ServeOptions

    ssh, limits, options = load_settings(tmp_path / "none.toml").ssh, Limits(), ServeOptions(url="sqlite://")
    assert (ssh.idle_timeout, ssh.sessions_per_agent, ssh.sessions, ssh.auth_failures_per_minute) == (
        limits.idle_timeout,
        limits.sessions_per_agent,
        limits.sessions,
        limits.auth_failures,
    )
    assert ssh.listen == f"{options.host}:{options.port}"


BAD_SSH_SECTIONS = [
    ("ssh = 3\n", "[ssh] must be a table"),
    ("[ssh]\nidle_timout = 5\n", "[ssh] unknown key 'idle_timout'"),
    ('[ssh]\nlisten = "2222"\n', "[ssh] listen: expected HOST:PORT"),
    ('[ssh]\nlisten = "0.0.0.0:70000"\n', "[ssh] listen: expected HOST:PORT"),
    ("[ssh]\nlisten = 2222\n", "[ssh] listen must be a string"),
    ("[ssh]\nidle_timeout = -1\n", "[ssh] idle_timeout must be a number of seconds, 0 or more"),
    ("[ssh]\nidle_timeout = inf\n", "[ssh] idle_timeout must be a number of seconds, 0 or more"),
    ('[ssh]\nidle_timeout = "1h"\n', "[ssh] idle_timeout must be a number"),
    ("[ssh]\nidle_timeout = true\n", "[ssh] idle_timeout must be a number"),
    ("[ssh]\nsessions_per_agent = 0\n", "[ssh] sessions_per_agent must be 1 or more"),
    ("[ssh]\nsessions = 2.5\n", "[ssh] sessions must be a whole number"),
    ("[ssh]\nauth_failures_per_minute = 0\n", "[ssh] auth_failures_per_minute must be 1 or more"),
    ('[ssh]\nhost_key = "keys/host"\n', "[ssh] host_key must be an absolute path"),
    ("[ssh]\nhost_key = 3\n", "[ssh] host_key must be a string"),
]


@pytest.mark.parametrize(("text", "says"), BAD_SSH_SECTIONS)
def test_a_bad_ssh_section_stops_serve_ssh_with_one_line(tmp_path: Path, text: str, says: str) -> None:
    """The real command, as a process: exit 1 and one line naming the file, the section and
    the key; no traceback, no server."""
    import os
    import subprocess
    import sys

    path = tmp_path / "config.toml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "ticketdesk", "--db", str(tmp_path / "td.db"), "--as", "admin", "serve", "ssh"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "TICKETDESK_CONFIG": str(path)},
    )  # fmt: skip
    assert done.returncode == 1, done
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"ticketdesk: error: {path}: {says}"), done.stderr
