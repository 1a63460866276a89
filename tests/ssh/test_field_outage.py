"""Resilience in the field (issue 14, point 4): five live ssh sessions while PostgreSQL is
stopped for 30 s, or while another program holds SQLite's write lock for 30 s. No session
exits; each says the database cannot be reached while it is so; a reply typed meanwhile is
sent once it is back; every screen catches up without a restart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import PostgresServer, _prepare
from .serve_desk import Desk, open_in_tmux, pane_gone, running_desk, until

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("ssh", "ssh-keygen", "tmux")),
    reason="needs the OpenSSH client, ssh-keygen and tmux",
)

AGENTS = ("cy", "di", "ed")  # with ana and bo: five sessions
OUTAGE_S = 30


class StoppedPostgres:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def begin(self) -> None:
        self.server.pause()

    def end(self) -> None:
        self.server.resume()


class LockedSqlite:
    """Another program's write transaction, held for the whole outage (readers go on)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder: subprocess.Popen[str] | None = None

    def begin(self) -> None:
        hold = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            " c.execute('BEGIN IMMEDIATE'); c.execute(\"UPDATE agent SET login = login WHERE login = 'admin'\");"
            " print('locked', flush=True); sys.stdin.readline(); c.execute('ROLLBACK')"
        )
        self.holder = subprocess.Popen(
            [sys.executable, "-c", hold, str(self.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.holder.stdout is not None and self.holder.stdout.readline().strip() == "locked"

    def end(self) -> None:
        assert self.holder is not None and self.holder.stdin is not None
        self.holder.stdin.write("\n")
        self.holder.stdin.close()
        assert self.holder.wait(10) == 0


@pytest.fixture(params=["sqlite", "postgres"])
def field(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Desk, StoppedPostgres | LockedSqlite]]:
    if request.param == "sqlite":
        with running_desk(tmp_path, *AGENTS) as desk:
            yield desk, LockedSqlite(tmp_path / "td.db")
        return
    try:
        server = PostgresServer()
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        url = server.url("postgres")
        _prepare(url)
        with running_desk(tmp_path, *AGENTS, url=url) as desk:
            yield desk, StoppedPostgres(server)
    finally:
        server.stop()


def flat(desk: Desk, session: str) -> str:
    return " ".join(desk.screen(session).split())


def test_five_sessions_ride_out_a_30_s_outage(field: tuple[Desk, StoppedPostgres | LockedSqlite]) -> None:
    desk, outage = field
    sessions = ("ana", "bo", *AGENTS)
    for login in sessions:
        open_in_tmux(desk, login, login, size=(100, 30))
    for login in sessions:
        until(lambda s=login: "Printer on fire" in desk.screen(s))
    number = json.loads(desk.cli("list", "--format", "json").stdout)[0]["number"]
    subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "ana", "Enter"], check=True)
    until(lambda: "Description" in desk.screen("ana"))

    outage.begin()
    began = time.monotonic()
    try:
        for login in sessions:
            until(lambda s=login: "database unreachable" in flat(desk, s), timeout=15)
        # a reply typed during the outage: kept, and sent once the database is back
        subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "ana", "r"], check=True)
        until(lambda: "Public reply" in desk.screen("ana"))
        subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "ana", "Back online soon"], check=True)
        until(lambda: "Back online soon" in desk.screen("ana"))
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - began)))
        assert not any(pane_gone(desk, s) for s in sessions)
    finally:
        outage.end()

    for login in sessions:
        until(lambda s=login: "database unreachable" not in flat(desk, s), timeout=15)
    subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "ana", "C-s"], check=True)

    def replied() -> bool:
        shown = json.loads(desk.cli("show", number, "--format", "json").stdout)
        return any(c["body"] == "Back online soon" for c in shown["comments"])

    until(replied, timeout=40)  # after a SQLite lock, the send may wait out a queued writer
    desk.cli("update", number, "--priority", "P0", login="cy")
    for login in sessions:
        until(lambda s=login: "P0" in desk.screen(s), timeout=10)
    assert not any(pane_gone(desk, s) for s in sessions)
