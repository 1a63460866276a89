"""A TUI that crashes exits non-zero (issue 14; Textual's `App.run()` returns after printing
the traceback, so `ticketdesk` has to pass the app's return code on). The real command in a
real terminal (tmux), its exit status read back from the shell that ran it.

No input a user can give crashes the TUI on purpose (each such path is a bug, fixed when
found), so the app gets a key that raises: `python -c` puts a subclass of the app where the
`tui` command (ticketdesk/cli/desk.py) takes it from and runs the command line as the
console script does.
"""

from __future__ import annotations

import shlex
import sys
import uuid
from pathlib import Path

import pytest

from ticketdesk.store import NewTicket, Store

from .helpers import tmux, wait_pane

pytestmark = pytest.mark.slow

WITH_A_BUG = """
import sys
from textual.binding import Binding
import ticketdesk.app

class AppWithABug(ticketdesk.app.TicketdeskApp):
    BINDINGS = [*ticketdesk.app.TicketdeskApp.BINDINGS, Binding("f9", "bug", "A bug")]

    def action_bug(self) -> None:
        raise RuntimeError("a bug on purpose")

ticketdesk.app.TicketdeskApp = AppWithABug
from ticketdesk.cli import main
sys.argv[0] = "ticketdesk"
main()
"""


@pytest.mark.parametrize(("key", "status"), [("F9", "1"), ("q", "0")], ids=["crash", "quit"])
def test_the_tuis_exit_status_says_whether_it_crashed(tmp_path: Path, key: str, status: str) -> None:
    db = tmp_path / "crash.db"
    store = Store.open(f"sqlite:///{db}", login="admin", check=False)
    try:
        store.init()
        store.tickets.create(NewTicket(subject="Printer on fire"))
    finally:
        store.close()
    exit_status = tmp_path / "status"
    env = {"TICKETDESK_DB": str(db), "TICKETDESK_CONFIG": str(tmp_path / "none.toml")}
    command = " ".join(
        [
            *(f"{name}={shlex.quote(value)}" for name, value in env.items()),
            shlex.quote(sys.executable), "-c", shlex.quote(WITH_A_BUG), "--as", "admin",
            f"; echo $? > {shlex.quote(str(exit_status))}; sleep 60",  # the pane stays: the traceback can be read
        ]
    )  # fmt: skip
    name = f"td-{uuid.uuid4().hex[:10]}"
    try:
        started = tmux(name, "new", "-d", "-s", name, "-x", "100", "-y", "30", command)
        assert started.returncode == 0, started.stderr
        wait_pane(name, name, lambda pane: "Printer on fire" in pane and "All open (1)" in pane)
        tmux(name, "send-keys", "-t", name, key)
        screen = wait_pane(name, name, lambda _: exit_status.exists() and exit_status.read_text().strip() != "")
        assert exit_status.read_text().strip() == status, screen
        assert ("a bug on purpose" in screen) == (key == "F9"), screen  # Textual's traceback
    finally:
        tmux(name, "kill-server")
