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
