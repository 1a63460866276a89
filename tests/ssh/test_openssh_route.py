"""The OpenSSH route (issue 14) against a real sshd and a real ssh client: an agent's key,
given with `ticketdesk agent key add`, logs in as the system user `desk` and lands in the TUI
acting as that agent; other keys, deactivated agents' keys, commands and tunnels get nothing.

sshd asks `ticketdesk ssh authorized-keys %k` (AuthorizedKeysCommand) for each key offered;
the fixture (conftest.py) starts one sshd per module on a free port.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ticketdesk.ssh.keys import parse_public_key
from ticketdesk.store import NewTicket

from .conftest import SshHost

pytestmark = pytest.mark.slow

QUEUE_ROW = re.compile(r"^\s+(\d{9,})\s+P\d\s", re.MULTILINE)


def _agent_with_key(sshd: SshHost, login: str) -> Path:
    """A new agent with a new key, set up in-process (a ticketdesk start costs ~0.7 s; the
    login test gives its key with the CLI); the private key's path."""
    key = sshd.keypair(login)
    store = sshd.store()
    try:
        store.people.add(login, name=f"{login.title()} Agent")
        store.people.add_ssh_key(login, parse_public_key(Path(f"{key}.pub").read_text()))
    finally:
        store.close()
    return key


def _login(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def _new_ticket(sshd: SshHost, subject: str, priority: str = "P2") -> str:
    store = sshd.store()
    try:
        return store.tickets.create(NewTicket(subject=subject, priority=priority))
    finally:
        store.close()


def _refused(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 255 and "Permission denied" in result.stderr


# --- logging in: the TUI, as the key's agent ------------------------------------------------


def _tmux(server: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10)


def _wait_pane(server: str, cond: Callable[[str], bool], what: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    pane = ""
    while time.monotonic() < deadline:
        pane = _tmux(server, "capture-pane", "-p", "-t", server).stdout
        if cond(pane):
            return pane
        if _tmux(server, "has-session", "-t", server).returncode != 0:
            raise AssertionError(f"the ssh session ended before {what}; last screen:\n{pane}")
        time.sleep(0.1)
    raise AssertionError(f"the terminal never showed {what}; last screen:\n{pane}")


def test_an_agents_key_logs_in_to_the_tui_acting_as_that_agent(sshd: SshHost) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    login = _login("ana")
    sshd.ok("agent", "add", login, "--name", "Ana Agent")
    key = sshd.keypair(login)
    added = sshd.ok("agent", "key", "add", login, f"{key}.pub")  # what an admin does
    assert login in added, added
    subject = f"Printer on fire {uuid.uuid4().hex[:6]}"
    number = _new_ticket(sshd, subject, priority="P0")

    server = f"td-ssh-{uuid.uuid4().hex[:10]}"  # a private tmux server: never touches the user's sessions
    ssh = shlex.join(sshd.ssh_args(key, "-tt"))
    try:
        started = _tmux(server, "new", "-d", "-s", server, "-x", "120", "-y", "40", ssh)
        assert started.returncode == 0, started.stderr
        queue = _wait_pane(server, lambda p: "All open (" in p and number in QUEUE_ROW.findall(p), "the queue")
        rows = QUEUE_ROW.findall(queue)
        for _ in range(rows.index(number)):  # other tests' tickets may stand above ours
            _tmux(server, "send-keys", "-t", server, "j")
        _wait_pane(server, lambda p: f" {rows.index(number) + 1}/{len(rows)}" in p, "the cursor on our ticket")
        _tmux(server, "send-keys", "-t", server, "a")  # assign to me
        _wait_pane(
            server,
            lambda p: any(number in line and login in line for line in p.splitlines()),
            f"{number} assigned to {login}",
        )
        _tmux(server, "send-keys", "-t", server, "q")
        deadline = time.monotonic() + 15
        while _tmux(server, "has-session", "-t", server).returncode == 0:  # q ends the app, ssh, the session
            assert time.monotonic() < deadline, "q did not end the ssh session"
            time.sleep(0.1)
    finally:
        _tmux(server, "kill-server")

    shown = json.loads(sshd.ok("show", number, "--format", "json"))
    assert shown["assignee"] == login  # the database says who acted: the key's agent
    assert f"--as {login}" in sshd.log_text()  # sshd ran the forced command for that agent


# --- keys that open nothing --------------------------------------------------------------


def test_an_unknown_key_is_refused(sshd: SshHost) -> None:
    _agent_with_key(sshd, _login("kim"))  # the desk has keys; this one is not among them
    stranger = sshd.keypair("stranger")
    result = sshd.ssh(stranger)
    assert _refused(result), (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""


def test_a_deactivated_agents_key_is_refused(sshd: SshHost) -> None:
    login = _login("dora")
    key = _agent_with_key(sshd, login)
    number = _new_ticket(sshd, "Deactivation check")
    before = sshd.ssh(key)
    assert before.returncode == 0 and number in before.stdout, (before.returncode, before.stdout, before.stderr)

    sshd.ok("agent", "deactivate", login)
    after = sshd.ssh(key)
    assert _refused(after), (after.returncode, after.stdout, after.stderr)
    assert after.stdout == ""


def test_a_removed_key_is_refused(sshd: SshHost) -> None:
    login = _login("rem")
    key = _agent_with_key(sshd, login)
    assert sshd.ssh(key).returncode == 0
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert fingerprint in sshd.ok("agent", "key", "list", login)
    sshd.ok("agent", "key", "remove", fingerprint)
    result = sshd.ssh(key)
    assert _refused(result), (result.returncode, result.stdout, result.stderr)


# --- what a logged-in key cannot do --------------------------------------------------------


def test_a_command_given_to_ssh_does_not_run_the_forced_command_does(sshd: SshHost) -> None:
    key = _agent_with_key(sshd, _login("omar"))
    number = _new_ticket(sshd, "Command check")
    # were the command run by a shell, the output would hold /etc/passwd and ran-42
    result = sshd.ssh(key, "ls /etc/passwd; echo ran-$((6*7))")
    assert "/etc/passwd" not in result.stdout and "ran-42" not in result.stdout, result.stdout
    # what ran is ticketdesk: with no terminal, the open queue as plain text
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert number in result.stdout, result.stdout


@pytest.fixture
def echo_server() -> Iterator[tuple[int, list[str]]]:
    """A local TCP service that greets whoever connects; its port, and a record of connections."""
    seen: list[str] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            seen.append(f"{peer[0]}:{peer[1]}")
            with conn:
                conn.sendall(b"hello from behind the tunnel\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _read_all(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.settimeout(10)
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
        return data


@pytest.mark.parametrize("server", ["sshd", "sshd_forwarding_allowed"])
def test_port_forwarding_is_refused(
    request: pytest.FixtureRequest, server: str, echo_server: tuple[int, list[str]]
) -> None:
    """Hardened sshd (AllowTcpForwarding no) and one left at sshd's default (yes), where only
    the key line's `restrict` refuses the tunnel."""
    sshd: SshHost = request.getfixturevalue(server)
    target, seen = echo_server
    assert _read_all(target).startswith(b"hello")  # the service itself answers
    seen.clear()

    key = _agent_with_key(sshd, _login("fwd"))
    local = socket.create_server(("127.0.0.1", 0))
    local_port = local.getsockname()[1]
    local.close()
    args = sshd.ssh_args(
        key, "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=INFO",
        "-L", f"127.0.0.1:{local_port}:127.0.0.1:{target}",
    )  # fmt: skip
    client = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:  # ssh listens on the local end once it has logged in
            if client.poll() is not None:
                raise AssertionError(f"ssh exited {client.returncode}: {client.communicate()[1]!r}")
            try:
                socket.create_connection(("127.0.0.1", local_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "ssh never listened on the forwarded port"
                time.sleep(0.1)
        data = _read_all(local_port)
    finally:
        client.terminate()
        try:
            _, stderr = client.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            client.kill()
            _, stderr = client.communicate(timeout=10)
    assert data == b""  # nothing came through the tunnel
    assert seen == []  # and nothing reached the service behind it
    assert b"administratively prohibited" in stderr, stderr
