"""The team desk over real SSH sessions (`serve ssh`, the OpenSSH client in tmux): each
session sees the others' presence, a commit anywhere shows everywhere without a key, and a
session killed with -9 takes nothing else down (issue 14, points 2, 3 and 7)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serve_desk import Desk, open_in_tmux, pane_gone, running_desk, until

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("ssh", "ssh-keygen", "tmux")),
    reason="needs the OpenSSH client, ssh-keygen and tmux",
)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("team-desk"), "cy") as running:
        yield running


def keys(desk: Desk, session: str, *typed: str) -> None:
    subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", session, *typed], check=True)


def flat(desk: Desk, session: str) -> str:
    return " ".join(desk.screen(session).split())


def tui_of(desk: Desk, login: str) -> int:
    """The pid of `login`'s TUI process: forked by the server's fork server, it is titled
    with the command it stands for (`ps` shows it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if title.endswith(f" --db {desk.url} --as {login}"):
            return int(entry.name)
    raise AssertionError(f"no TUI process of {login}")


def who(desk: Desk) -> list[dict[str, object]]:
    return list(json.loads(desk.cli("who", "--format", "json").stdout))


def test_sessions_see_each_other_and_every_commit_and_survive_a_kill_9(desk: Desk) -> None:
    open_in_tmux(desk, "ana", "ana", size=(80, 24))
    open_in_tmux(desk, "bo", "bo", size=(80, 24))
    for session in ("ana", "bo"):
        until(lambda s=session: "Printer on fire" in desk.screen(s))
    found = re.search(r"\b\d{9,}\b", desk.screen("ana"))
    assert found is not None
    number = found.group(0)

    # ana opens the ticket and starts a reply: bo's queue row says so, live
    keys(desk, "ana", "Enter")
    until(lambda: "👁ana Printer on fire" in flat(desk, "bo"))
    keys(desk, "ana", "r", "H", "i")
    until(lambda: "✎ana Printer on fire" in flat(desk, "bo"))
    seen = {(p["login"], p["via"], p["ticket"], p["activity"]) for p in who(desk)}
    assert ("ana", "ssh", number, "replying") in seen and ("bo", "ssh", None, "browsing") in seen

    # bo opens it too: the header names ana, and a commit from the CLI shows on both screens
    keys(desk, "bo", "Enter")
    until(lambda: "also here ✎ana writing a reply" in flat(desk, "bo"))
    desk.cli("update", number, "--priority", "P0", login="cy")
    for session in ("ana", "bo"):
        until(lambda s=session: "P0" in desk.screen(s), timeout=5)

    # ana's TUI dies hard: bo's session goes on, and ana is gone from it within ~15 s
    os.kill(tui_of(desk, "ana"), signal.SIGKILL)
    until(lambda: pane_gone(desk, "ana"))
    until(lambda: "also here" not in flat(desk, "bo"), timeout=25)
    assert [p["login"] for p in who(desk)] == ["bo"]
    desk.cli("new", "--subject", "Second printer on fire", login="cy")
    keys(desk, "bo", "Escape")
    until(lambda: "Second printer on fire" in desk.screen("bo"), timeout=5)
    keys(desk, "bo", "q")
    until(lambda: pane_gone(desk, "bo"))
    until(lambda: who(desk) == [], timeout=5)  # a TUI that quits says goodbye at once
