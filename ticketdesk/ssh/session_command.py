"""The command an SSH login runs: this ticketdesk, on this database, as the key's agent.
Both routes use it: `serve ssh` starts it on a pty, the OpenSSH route forces it with
`command=`."""

from __future__ import annotations

import sys
from pathlib import Path


def tui_command(url: str, login: str) -> list[str]:
    script = Path(sys.executable).with_name("ticketdesk")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "ticketdesk"]
    return [*program, "--db", url, "--as", login]
