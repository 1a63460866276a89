"""The console script and the warm command server (launch.py, command_server.py), through
the real `ticketdesk` script in subprocesses: the first command starts the server and runs
in its own process; the next ones are forked by the server with the caller's stdin, stdout,
stderr, environment and working directory, and give the same output and exit codes; Ctrl-C
reaches the command; an unsafe socket directory means no server at all."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketdesk import launch
from ticketdesk.store import NewTicket, Store

SCRIPT = Path(sys.executable).with_name("ticketdesk")


@pytest.fixture
def desk(tmp_path: Path, sqlite_template: Path) -> Iterator[dict[str, str]]:
    """The environment of an agent on a SQLite desk with two tickets, warm starts on, the
    server's socket in a private directory of the test's own; its server stopped after."""
    db = tmp_path / "desk.db"
    shutil.copyfile(sqlite_template, db)
    store = Store.open(f"sqlite:///{db}", login="admin")
    store.tickets.create(NewTicket(subject="VPN drops every hour", priority="P1"))
    store.tickets.create(NewTicket(subject="打印机无法连接网络", priority="P2"))
    store.close()
    run = Path(tempfile.mkdtemp(prefix="td-run-"))  # short: a socket's path has at most 107 bytes
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETDESK_")}
    env |= {
        "TICKETDESK_DB": str(db),
        "TICKETDESK_AGENT": "admin",
        "TICKETDESK_CONFIG": str(tmp_path / "none.toml"),
        "TICKETDESK_WARM": "1",
        "TICKETDESK_WARM_IDLE": "60",
        "XDG_RUNTIME_DIR": str(run),
    }
    yield env
    for pid in servers(run):
        os.kill(pid, signal.SIGTERM)
    shutil.rmtree(run, ignore_errors=True)


def servers(run: Path) -> list[int]:
    """The command servers listening in `run` (by their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"ticketdesk.command_server" in cmdline and any(str(run).encode() in part for part in cmdline):
                found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_for(what: object, timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def script(env: dict[str, str], *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def warm_server(env: dict[str, str]) -> int:
    """Run a first command (it starts the server) and wait until the server listens."""
    run = Path(env["XDG_RUNTIME_DIR"])
    first = script(env, "list")
    assert first.returncode == 0, first.stderr
    wait_for(lambda: list((run / "ticketdesk").glob("commands-*.sock")))
    (pid,) = servers(run)
    return pid


def test_the_server_runs_commands_as_the_script_would(desk: dict[str, str], tmp_path: Path) -> None:
    here = script({**desk, "TICKETDESK_WARM": "0"}, "list")
    assert here.returncode == 0 and "VPN drops every hour" in here.stdout
    assert servers(Path(desk["XDG_RUNTIME_DIR"])) == []  # off: none started
    server = warm_server(desk)
    warm = script(desk, "list")
    assert (warm.returncode, warm.stdout, warm.stderr) == (0, here.stdout, "")
    missing = script(desk, "show", "999")
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "", "ticketdesk: error: ticket 999 not found\n")
    usage = script(desk, "list", "--limit", "x")
    assert usage.returncode == 2 and "Invalid value" in usage.stderr
    # the working directory and environment are the caller's: a relative --db resolves there
    number = warm.stdout.split("\t", 1)[0]
    relative = script(desk, "--db", "desk.db", "show", number, cwd=tmp_path)
    assert relative.returncode == 0 and "VPN drops every hour" in relative.stdout, relative.stderr
    assert servers(Path(desk["XDG_RUNTIME_DIR"])) == [server]  # the same server served them all


def test_stdin_reaches_the_command_and_ctrl_c_stops_it(desk: dict[str, str], tmp_path: Path) -> None:
    server = warm_server(desk)
    number = script(desk, "list").stdout.split("\t", 1)[0]
    reply = subprocess.Popen(
        [str(SCRIPT), "reply", number, "--body", "-"], env=desk, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    (forked,) = wait_for(lambda: children(server))  # the server's process runs it, waiting on our stdin
    assert reply.stdin is not None
    reply.stdin.write("Restarted the VPN gateway.\n")
    reply.stdin.close()
    assert reply.wait(timeout=30) == 0, reply.stderr.read() if reply.stderr else ""
    store = Store.open(f"sqlite:///{desk['TICKETDESK_DB']}", login="admin")
    try:
        assert [c.body for c in store.tickets.get(number).comments] == ["Restarted the VPN gateway.\n"]
    finally:
        store.close()

    stuck = subprocess.Popen(
        [str(SCRIPT), "reply", number, "--body", "-"], env=desk, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    (forked,) = wait_for(lambda: children(server))
    stuck.send_signal(signal.SIGINT)  # what Ctrl-C does to the script in the foreground
    assert stuck.wait(timeout=30) != 0
    wait_for(lambda: not Path(f"/proc/{forked}").exists())
    store = Store.open(f"sqlite:///{desk['TICKETDESK_DB']}", login="admin")
    try:
        assert len(store.tickets.get(number).comments) == 1  # nothing more was written
    finally:
        store.close()


def test_long_runs_and_interactive_commands_stay_in_the_callers_process() -> None:
    assert launch.goes_warm(["--db", "x.db", "list", "-n", "5"])
    assert launch.goes_warm(["show", "202612001", "--format", "json"])
    for argv in (
        [],
        ["tui"],
        ["reply", "202612001", "--edit"],
        ["reply", "1", "-e"],
        ["sweep"],
        ["serve", "ssh"],
        ["demo"],
        ["init"],
    ):
        assert not launch.goes_warm(argv), argv


def test_an_unsafe_socket_directory_means_no_server(desk: dict[str, str], tmp_path: Path) -> None:
    shared = Path(desk["XDG_RUNTIME_DIR"]) / "shared"
    (shared / "ticketdesk").mkdir(parents=True)
    (shared / "ticketdesk").chmod(0o777)  # anyone could put a socket there
    env = {**desk, "XDG_RUNTIME_DIR": str(shared)}
    assert script(env, "list").returncode == 0
    assert script(env, "list").returncode == 0
    time.sleep(0.5)
    assert servers(shared) == [] and list((shared / "ticketdesk").iterdir()) == []


def test_the_socket_name_changes_with_the_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    module = package / "sub" / "mod.py"
    module.write_text("x = 1\n")
    before = launch.code_key(package)
    assert launch.code_key(package) == before
    os.utime(module, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert launch.code_key(package) != before


def test_the_launcher_imports_only_the_standard_library() -> None:
    """What makes a warm command fast: the script itself loads none of the desk's libraries."""
    probe = "import sys, ticketdesk.launch; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    for heavy in ("sqlalchemy", "sqlmodel", "typer", "click", "rich", "textual", "pydantic"):
        assert f"'{heavy}'" not in loaded, heavy


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_tui_runs_warm_on_a_terminal_of_its_own(desk: dict[str, str], tmp_path: Path) -> None:
    """In tmux: the queue paints, keys reach it, a resize reaches it, `q` ends it with 0 and
    the shell's terminal is as it was."""
    from tests.tui.helpers import tmux, wait_pane

    server = warm_server(desk)
    name = f"td-{os.getpid()}-{time.monotonic_ns() % 100000}"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in desk.items() if k.startswith(("TICKETDESK_", "XDG_")))
    # without the COLUMNS and LINES of the test session, which would pin the size
    command = f"env -u COLUMNS -u LINES {exports} {shlex.quote(str(SCRIPT))}; echo exited=$?; sleep 30"
    try:
        assert tmux(name, "new", "-d", "-s", name, "-x", "100", "-y", "30", command).returncode == 0
        # 100 columns (UPDATED shown): the terminal's size reached the command's pty
        wait_pane(name, name, lambda p: "All open (2)" in p and "VPN drops every hour" in p and "UPDATED" in p)
        assert len(children(server)) == 1  # the queue is the server's process, not a cold start
        tmux(name, "send-keys", "-t", name, "j")
        wait_pane(name, name, lambda p: " 2/2 " in p)
        tmux(name, "resize-window", "-t", name, "-x", "150", "-y", "30")
        wait_pane(name, name, lambda p: "UPDATED" in p)  # the column that needs the width
        tmux(name, "send-keys", "-t", name, "q")
        wait_pane(name, name, lambda p: "exited=0" in p)
        wait_for(lambda: children(server) == [])
    finally:
        tmux(name, "kill-server")


def test_files_get_the_callers_umask_and_a_stuck_server_is_not_waited_for(desk: dict[str, str], tmp_path: Path) -> None:
    server = warm_server(desk)
    out = tmp_path / "tickets.csv"
    made = subprocess.run(
        ["sh", "-c", f"umask 077 && exec {shlex.quote(str(SCRIPT))} export -f csv -o {shlex.quote(str(out))}"],
        env=desk, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert out.stat().st_mode & 0o777 == 0o600 and "VPN drops every hour" in out.read_text()
    number = script(desk, "list").stdout.split("\t", 1)[0]
    os.kill(server, signal.SIGSTOP)  # a server that takes the connection but never answers
    try:
        here = script(desk, "reply", number, "--body", "Once only.")
        assert here.returncode == 0, here.stderr  # run here, after FORK_TIMEOUT
        assert children(server) == []  # nothing was forked by the stopped server
    finally:
        os.kill(server, signal.SIGCONT)
    time.sleep(2)  # the server now forks the late connection, which finds the launcher gone
    store = Store.open(f"sqlite:///{desk['TICKETDESK_DB']}", login="admin")
    try:
        assert [c.body for c in store.tickets.get(number).comments] == ["Once only."]
    finally:
        store.close()
