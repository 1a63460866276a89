"""`ticketdesk serve ssh` against the real OpenSSH client (`ssh -tt` in tmux): an agent's key
opens the queue as that agent and nothing else is served (issue 14)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serve_desk import (
    Desk,
    free_port,
    open_in_tmux,
    pane_gone,
    running_desk,
    start_server,
    stop_server,
    until,
)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("ssh", "ssh-keygen", "tmux")),
    reason="needs the OpenSSH client, ssh-keygen and tmux",
)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("serve-ssh")) as running:
        yield running


def test_a_key_opens_the_queue_as_its_agent(desk: Desk) -> None:
    open_in_tmux(desk, "ana", "ana")
    # the rows and the view's name come a frame apart: wait for both
    until(lambda: "Printer on fire" in desk.screen("ana") and "All open (1)" in desk.screen("ana"))
    number = re.search(r"\b\d{9,}\b", desk.screen("ana"))
    assert number is not None
    subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "ana", "a"], check=True)  # assign to me

    def assignee() -> str | None:
        shown = json.loads(desk.cli("show", number.group(0), "--format", "json").stdout)
        return str(shown["assignee"]) if shown["assignee"] == "ana" else None

    assert until(assignee) == "ana"
    subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "ana", "q"], check=True)
    until(lambda: "ana" not in subprocess.run(["tmux", "-L", desk.tmux, "ls"], capture_output=True, text=True).stdout)
    audited = [line.split("\t")[2:4] for line in desk.cli("audit").stdout.splitlines()]
    assert ["ssh_login", "ana"] in audited and ["ssh_logout", "ana"] in audited


def test_a_resized_window_is_laid_out_again(desk: Desk) -> None:
    open_in_tmux(desk, "bo", "bo", size=(80, 24))
    until(lambda: "Printer on fire" in desk.screen("bo"))
    assert "TEAM" not in desk.screen("bo")  # no room for the team column at 80 wide
    subprocess.run(["tmux", "-L", desk.tmux, "resize-window", "-t", "bo", "-x", "150", "-y", "30"], check=True)
    try:
        until(lambda: "TEAM" in desk.screen("bo"))
    except AssertionError:
        raise AssertionError(desk.screen("bo")) from None
    subprocess.run(["tmux", "-L", desk.tmux, "send-keys", "-t", "bo", "q"], check=True)


def test_an_unknown_key_is_refused_and_audited(desk: Desk) -> None:
    done = subprocess.run(desk.ssh("stranger", "-tt"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 255 and "Permission denied (publickey)" in done.stderr
    assert any("\tssh_refused\t" in line and "unknown key" in line for line in desk.cli("audit").stdout.splitlines())


def test_a_command_or_a_session_without_a_terminal_gets_one_line_and_status_1(desk: Desk) -> None:
    for extra, says in (((), "serves the ticketdesk TUI only"), (("-T",), "needs a terminal")):
        command = ["ls", "/"] if not extra else []
        done = subprocess.run(
            [*desk.ssh("ana", *extra), *command], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 1, done
        assert says in done.stderr and "bin" not in done.stdout


def test_port_forwarding_is_refused(desk: Desk) -> None:
    local = free_port()
    done = subprocess.run(
        desk.ssh("ana", "-N", "-o", "ExitOnForwardFailure=yes", "-R", f"{local}:127.0.0.1:{desk.port}"),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0 and "forward" in done.stderr.lower()


def test_a_deactivated_agents_key_is_refused(desk: Desk) -> None:
    desk.cli("agent", "add", "cy")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(desk.home / "cy")], check=True)
    desk.cli("agent", "key", "add", "cy", str(desk.home / "cy.pub"))
    desk.cli("agent", "deactivate", "cy")
    done = subprocess.run(desk.ssh("cy", "-tt"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 255 and "Permission denied" in done.stderr


def test_the_server_keeps_its_host_key_across_restarts(tmp_path: Path, desk: Desk) -> None:
    port = free_port()
    first, banner = start_server(desk.url, port, tmp_path / "key")
    stop_server(first)
    assert oct((tmp_path / "key").stat().st_mode & 0o777) == "0o600"
    again, banner_again = start_server(desk.url, port, tmp_path / "key")
    stop_server(again)
    fingerprint = re.search(r"SHA256:\S+", banner)
    assert fingerprint is not None and fingerprint.group(0) in banner_again


# --- limits -----------------------------------------------------------------------------------


@pytest.fixture
def strict(desk: Desk, tmp_path: Path) -> Iterator[Desk]:
    """The same desk behind a second server with small limits."""
    port = free_port()
    limits = ("--sessions-per-agent", "1", "--idle-timeout", "4", "--max-auth-failures", "2")
    server, banner = start_server(desk.url, port, tmp_path / "key", *limits)
    try:
        yield Desk(desk.url, port, desk.home, server, banner, desk.tmux)
    finally:
        stop_server(server)


def test_an_agent_gets_no_more_sessions_than_allowed_and_an_idle_one_closes(strict: Desk) -> None:
    open_in_tmux(strict, "bo", "bo-1")
    until(lambda: "Printer on fire" in strict.screen("bo-1"))
    second = subprocess.run(strict.ssh("bo", "-tt"), capture_output=True, text=True, timeout=30)
    assert second.returncode == 1 and "bo already has 1 session open" in second.stderr
    # no key for 4 s: the first session closes by itself
    until(lambda: pane_gone(strict, "bo-1"), timeout=20)
    audited = strict.cli("audit").stdout
    assert "ssh_logout\tbo" in audited and "the most allowed" in audited


def test_deactivating_an_agent_ends_their_live_session(strict: Desk) -> None:
    strict.cli("agent", "add", "dee")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(strict.home / "dee")], check=True)
    strict.cli("agent", "key", "add", "dee", str(strict.home / "dee.pub"))
    open_in_tmux(strict, "dee", "dee")
    until(lambda: "Printer on fire" in strict.screen("dee"))
    strict.cli("agent", "deactivate", "dee")
    until(lambda: pane_gone(strict, "dee"), timeout=20)


def test_an_address_that_keeps_failing_is_turned_away_even_with_a_good_key(strict: Desk) -> None:
    for _ in range(2):
        failed = subprocess.run(strict.ssh("stranger", "-tt"), capture_output=True, text=True, timeout=30)
        assert failed.returncode == 255
    good = subprocess.run([*strict.ssh("ana"), "true"], capture_output=True, text=True, timeout=30)
    assert good.returncode == 255 and "Permission denied" in good.stderr
    assert "\tssh_throttled\t127.0.0.1" in strict.cli("audit").stdout


def test_a_stopped_server_tells_its_sessions_and_leaves_no_tui_behind(desk: Desk, tmp_path: Path) -> None:
    port = free_port()
    server, _ = start_server(desk.url, port, tmp_path / "key")
    moved = Desk(desk.url, port, desk.home, server, "", desk.tmux)
    command = " ".join(moved.ssh("ana", "-tt")) + f" 2>{tmp_path / 'ssh.err'}; sleep 30"
    try:
        subprocess.run(
            ["tmux", "-L", desk.tmux, "new", "-d", "-s", "stop", "-x", "100", "-y", "30", command], check=True
        )
        until(lambda: "Printer on fire" in moved.screen("stop"))
        # the session fork server, the server's child that forked the TUI; its children are
        # this server's sessions (other tests' servers run sessions of ana too)
        forker = subprocess.run(["pgrep", "-P", str(server.pid), "-f", "ticketdesk.ssh.forkserver"],
                                capture_output=True, text=True).stdout.split()  # fmt: skip
        assert len(forker) == 1
        tuis = subprocess.run(
            ["pgrep", "-P", forker[0], "-f", "--", "--as ana$"], capture_output=True, text=True
        ).stdout.split()
        assert tuis, "no TUI of ana under this server's fork server"
        stop_server(server)
        assert server.returncode == 0
        until(lambda: "server is stopping" in (tmp_path / "ssh.err").read_text())
        until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in [*tuis, *forker]), timeout=10)
    finally:  # a failed assertion above must not leave this server (and its sessions) running
        if server.poll() is None:
            stop_server(server)
        subprocess.run(["tmux", "-L", desk.tmux, "kill-session", "-t", "stop"], capture_output=True)


def test_with_the_database_away_a_login_is_refused_and_nothing_falls_over(tmp_path: Path) -> None:
    """Nobody can be checked, so nobody gets in; the audit entry that cannot be written is
    said on stderr instead of ending the server."""
    import asyncio

    from ticketdesk.ssh.server import DeskServer, Limits, Tally, audit, load_or_make_host_key
    from ticketdesk.store import Store

    away = Store.open(f"sqlite:///{tmp_path / 'gone' / 'no.db'}", login="admin", check=False)
    key, made = load_or_make_host_key(tmp_path / "key")
    assert made
    server = DeskServer(away, Tally(Limits()))
    assert asyncio.run(server.validate_public_key("desk", key)) is False
    asyncio.run(audit(away, "ssh_login", "ana", "from here"))  # no exception: said on stderr


# --- the config file's [ssh] section --------------------------------------------------------


def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """The config file of the servers this test starts (and of its `ticketdesk` commands)."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("TICKETDESK_CONFIG", str(path))


def test_the_config_files_ssh_section_reaches_the_server(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, key = free_port(), tmp_path / "file-key"
    use_config(
        tmp_path,
        monkeypatch,
        f'[ssh]\nlisten = "127.0.0.1:{port}"\nhost_key = "{key}"\nidle_timeout = 2\nauth_failures_per_minute = 1\n',
    )
    server, banner = start_server(desk.url, None, None)  # no --listen, no --host-key: the file's
    served = Desk(desk.url, port, desk.home, server, banner, desk.tmux)
    try:
        assert f"on 127.0.0.1:{port};" in banner and f"({key})" in banner
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        said = tmp_path / "ssh.err"
        open_in_tmux(served, "ana", "idle-by-file", stderr=said)
        until(lambda: pane_gone(served, "idle-by-file"), timeout=30)  # nobody types: closed after 2 s
        assert "session closed: idle for 2 s" in said.read_text()
        # one failed login from this address, and even a good key is turned away for a minute
        failed = subprocess.run(served.ssh("stranger", "-tt"), capture_output=True, text=True, timeout=30)
        assert failed.returncode == 255
        good = subprocess.run([*served.ssh("ana"), "true"], capture_output=True, text=True, timeout=30)
        assert good.returncode == 255 and "Permission denied" in good.stderr
    finally:
        subprocess.run(["tmux", "-L", desk.tmux, "kill-session", "-t", "idle-by-file"], capture_output=True)
        stop_server(server)


def test_command_line_options_win_over_the_config_file(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_port, port = free_port(), free_port()
    use_config(
        tmp_path,
        monkeypatch,
        f'[ssh]\nlisten = "127.0.0.1:{file_port}"\nhost_key = "{tmp_path / "file-key"}"\n'
        "idle_timeout = 2\nsessions_per_agent = 1\nsessions = 1\n",
    )
    options = ("--sessions-per-agent", "2", "--max-sessions", "5", "--idle-timeout", "0")
    server, banner = start_server(desk.url, port, tmp_path / "option-key", *options)
    served = Desk(desk.url, port, desk.home, server, banner, desk.tmux)
    sessions = ("bo-first", "bo-second")
    try:
        assert f"on 127.0.0.1:{port};" in banner and "option-key" in banner
        assert not (tmp_path / "file-key").exists()
        for session in sessions:  # two for one agent: the file's limit of 1 (in all) does not apply
            open_in_tmux(served, "bo", session)
            until(lambda session=session: "Printer on fire" in served.screen(session))
        time.sleep(3)  # longer than the file's idle timeout: with none given, both stay open
        assert not any(pane_gone(served, session) for session in sessions)
    finally:
        for session in sessions:
            subprocess.run(["tmux", "-L", desk.tmux, "kill-session", "-t", session], capture_output=True)
        stop_server(server)
