"""The systemd unit of `serve ssh` (docs/ticketdesk-ssh.service) and the README's copy of it
and of the `[ssh]` settings: what an admin copies from the README is what is tested here."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from ticketdesk.config import load_settings
from ticketdesk.ssh.server import GRACEFUL_STOP_SECONDS

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "docs" / "ticketdesk-ssh.service"


def readme_blocks(language: str) -> list[str]:
    """The README's fenced code blocks in `language`, each without its fences."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def unit() -> configparser.ConfigParser:
    # systemd's keys are case-sensitive and its values may hold % (no interpolation)
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def seconds(value: str) -> float:
    """A systemd time span as the unit writes it: 30, 30s, 1min, 1min 30s."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60}
    parts = re.findall(r"(\d+)\s*(min|sec|s|)\b", value)
    assert parts and "".join(n + u for n, u in parts) == value.replace(" ", ""), f"not a time span: {value!r}"
    return sum(int(n) * units[u] for n, u in parts)


def test_the_readme_shows_the_unit_file_as_it_is() -> None:
    assert UNIT.read_text(encoding="utf-8") in readme_blocks("ini")


def test_the_unit_runs_serve_ssh_and_gives_it_longer_to_stop_than_it_takes() -> None:
    service = unit()["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/ticketdesk") and command[1:3] == ["serve", "ssh"], command
    assert service["KillSignal"] == "SIGTERM"
    # SIGTERM to the server alone: the default (control-group) would end the TUIs before the
    # server could tell their agents why
    assert service["KillMode"] == "mixed"
    assert seconds(service["TimeoutStopSec"]) > GRACEFUL_STOP_SECONDS
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root")
    # the hardening leaves the server its data directory to write
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    data_dir = service["ReadWritePaths"]
    assert f"TICKETDESK_DB={data_dir}/" in service["Environment"]


def test_the_readmes_ssh_settings_are_accepted(tmp_path: Path) -> None:
    [example] = [block for block in readme_blocks("toml") if block.startswith("[ssh]")]
    path = tmp_path / "config.toml"
    path.write_text(example, encoding="utf-8")
    ssh = load_settings(path).ssh
    assert (ssh.listen, ssh.idle_timeout, ssh.sessions) == ("0.0.0.0:2222", 3600, 50)
    assert ssh.host_key_path() == Path(unit()["Service"]["ReadWritePaths"]) / "ssh_host_ed25519_key"
