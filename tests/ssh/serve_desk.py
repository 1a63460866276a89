"""A running `serve ssh` desk for the tests that drive it with the real OpenSSH client in
tmux (test_serve_ssh.py, test_team_desk.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TICKETDESK = [sys.executable, "-m", "ticketdesk"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Desk:
    url: str
    port: int
    home: Path
    server: subprocess.Popen[str]
    banner: str
    tmux: str

    def cli(self, *args: str, login: str = "admin", input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TICKETDESK, "--db", self.url, "--as", login, *args], capture_output=True, text=True, input=input
        )

    def ssh(self, key: str, *extra: str) -> list[str]:
        return [
            "ssh", "-i", str(self.home / key), "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            # only this key: another one offered first (~/.ssh, an agent) would be a failed login
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            *extra, "desk@127.0.0.1",
        ]  # fmt: skip

    def screen(self, session: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout


def until(what: Callable[[], object], timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def start_server(url: str, port: int | None, host_key: Path | None, *limits: str) -> tuple[subprocess.Popen[str], str]:
    """`serve ssh` on 127.0.0.1:`port` with `host_key`; either None: left to the config file."""
    where = [*(("--listen", f"127.0.0.1:{port}") if port is not None else ()),
             *(("--host-key", str(host_key)) if host_key is not None else ())]  # fmt: skip
    server = subprocess.Popen(
        [*TICKETDESK, "--db", url, "--as", "admin", "serve", "ssh", *where, *limits],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    banner = server.stdout.readline()
    assert "serving the desk over ssh" in banner, banner
    return server, banner


def stop_server(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def open_in_tmux(
    desk: Desk, key: str, session: str, size: tuple[int, int] = (100, 30), stderr: Path | None = None
) -> None:
    """`ssh -tt` as `key` in a tmux session; what ssh says on stderr to the file `stderr`."""
    command = " ".join(desk.ssh(key, "-tt")) + (f" 2>{stderr}" if stderr else "")
    subprocess.run(
        ["tmux", "-L", desk.tmux, "new", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command],
        check=True,
    )


@contextlib.contextmanager
def running_desk(home: Path, *agents: str, url: str | None = None) -> Iterator[Desk]:
    """A desk (a SQLite file in `home`, or the database at `url`) with agents ana and bo
    (and `agents`), each with a key file in `home` named after them, a stranger's key, one
    ticket, and `serve ssh` on a free port."""
    url = url or f"sqlite:///{home / 'td.db'}"
    run = lambda *a: subprocess.run([*TICKETDESK, "--db", url, "--as", "admin", *a], check=True, capture_output=True)  # noqa: E731
    run("init")
    for login in ("ana", "bo", *agents):
        run("agent", "add", login)
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", login, "-f", str(home / login)]
        subprocess.run(keygen, check=True)
        run("agent", "key", "add", login, str(home / f"{login}.pub"))
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "stranger")], check=True)
    run("new", "--subject", "Printer on fire", "--customer", "x@example.com")
    port = free_port()
    server, banner = start_server(url, port, home / "host_key")
    tmux = f"td-ssh-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["tmux", "-L", tmux, "new", "-d", "-s", "keep", "sleep 600"], check=True)
    try:
        yield Desk(url, port, home, server, banner, tmux)
    finally:
        subprocess.run(["tmux", "-L", tmux, "kill-server"], capture_output=True)
        stop_server(server)


def pane_gone(desk: Desk, session: str) -> bool:
    listed = subprocess.run(["tmux", "-L", desk.tmux, "ls", "-F", "#S"], capture_output=True, text=True).stdout
    return session not in listed.split()
