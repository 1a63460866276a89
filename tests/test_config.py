"""The config file: keymap and TUI settings, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketdesk.config import ConfigError, Settings, load_settings, resolve_db_url


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == Settings()


def test_keymap_and_poll_interval(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\n"queue.assign_me" = "ctrl+a"\n[tui]\npoll_interval = 2\n')
    settings = load_settings(path)
    assert settings.keymap == {"queue.assign_me": "ctrl+a"}
    assert settings.poll_interval == 2.0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[keymap\n", "config.toml"),
        ("[colours]\n", "unknown section or key 'colours'"),
        ('[keymap]\n"queue.assign_me" = 3\n', "[keymap] maps binding ids"),
        ("[tui]\npoll_interval = 0\n", "poll_interval"),
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
