"""The `ticketdesk` console script: hands a short command to the warm command server
(command_server.py), else runs it in this process.

Why: a command that opens the store cannot start faster than Python importing SQLAlchemy,
SQLModel, Typer and the desk, ~0.5 s on a 2-core machine, while `list`, `show` and `update`
are meant to answer in under 0.4 s (issue 16). The server has imported all of it once and
forks a process per command, which starts with everything loaded; this script imports only
the standard library's sockets (~30 ms).

- The server is started by the first command that finds none (that command runs here, as
  always), and exits after TICKETDESK_WARM_IDLE seconds (600) without a command.
- It listens on a Unix socket in a directory only this user may use: $XDG_RUNTIME_DIR, else
  /tmp/ticketdesk-UID made 0700 (and refused if anyone else owns it or may write to it).
  The server checks each caller's uid too.
- The socket's name carries a key of the code (where Python and the package are, and the
  newest change to the package's files): an upgraded or edited ticketdesk is served by a
  new server, never by one holding the old code.
- The command's stdin, stdout and stderr are passed to its process (SCM_RIGHTS), with the
  argv, environment and working directory: it reads the config file, TICKETDESK_DB and the
  terminal as a process started here would. Its exit code comes back; Ctrl-C (SIGINT) and
  the other ending signals are passed on to it.
- Only the short, non-interactive commands go there (`WARM_COMMANDS`); the TUI, the editor,
  the servers and long runs stay in the process the user started. TICKETDESK_WARM=0 turns it
  off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

ENV_WARM = "TICKETDESK_WARM"
ENV_IDLE = "TICKETDESK_WARM_IDLE"
#: The global options that take a value (`ticketdesk --db X list`).
GLOBAL_OPTIONS_WITH_VALUE = ("--db", "--as")
#: `invoked_name` of a run that asks for the top-level help.
HELP = "--help"
#: Commands that answer and exit, reading at most stdin: worth a warm start.
WARM_COMMANDS = frozenset(
    {
        "list", "show", "new", "update", "reply", "link", "escalate", "merge", "undo", "who",
        "report", "export", "customer", "template", "sla", "rules", "time", "agent", "audit",
        "survey", "qa", "kb", "attachment",
    }
)  # fmt: skip
#: Seconds the server has to say it forked the command; after that it runs here instead.
FORK_TIMEOUT = 5.0
#: What the launcher sends the forked command, with its fds, to let it run.
GO = b"go"
#: Signals passed on to the command's process: it ends as it would have here.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def invoked_name(argv: Sequence[str]) -> str | None:
    """The command or group `argv` names (`ticketdesk --db X list -n 5` -> "list"), HELP when
    it asks for the top-level help, None when it names none (the TUI, or the piped queue)."""
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            return HELP
        if arg in GLOBAL_OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def goes_warm(argv: Sequence[str]) -> bool:
    """A short command, not one that opens an editor (`reply --edit`): that one stays here,
    in the terminal's foreground, where the editor's job control works."""
    return invoked_name(argv) in WARM_COMMANDS and not {"--edit", "-e"} & set(argv)


def is_tui(argv: Sequence[str]) -> bool:
    """The TUI on a terminal (`ticketdesk`, `ticketdesk tui`): warm too, on a terminal of its
    own that this process relays (see `relay`)."""
    name = invoked_name(argv)
    return (name is None or name == "tui") and os.isatty(0) and os.isatty(1)


def main() -> None:
    argv = sys.argv[1:]
    if os.environ.get(ENV_WARM, "1") != "0" and (goes_warm(argv) or is_tui(argv)):
        code = run_warm(argv, terminal=is_tui(argv))
        if code is not None:
            sys.exit(code)
    from ticketdesk.cli import main as run_here

    run_here()


# --- where the server listens -------------------------------------------------------------


def runtime_dir() -> Path | None:
    """A directory only this user can use, or None (then commands run here)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "ticketdesk" if base else Path(f"/tmp/ticketdesk-{os.getuid()}")
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return path if private else None


def code_key(package: Path) -> str:
    """Changes when the code does: the Python environment, the package's place, its newest
    file change."""
    newest = 0
    stack = [package]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(Path(entry.path))
                elif entry.name.endswith((".py", ".tcss", ".toml")):
                    newest = max(newest, entry.stat().st_mtime_ns)
    # the environment (venv) and the interpreter, whichever name it was started by
    key = f"{sys.prefix}\0{os.path.realpath(sys.executable)}\0{package}\0{newest}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


#: the longest path a Unix socket may have (sun_path is 108 bytes with its NUL)
MAX_SOCKET_PATH = 107


def socket_path() -> Path | None:
    directory = runtime_dir()
    if directory is None:
        return None
    path = directory / f"commands-{code_key(Path(__file__).resolve().parent)}.sock"
    return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH else None


# --- a command, run warm ------------------------------------------------------------------


def run_warm(argv: list[str], *, terminal: bool = False) -> int | None:
    """The command's exit code from the warm server; None if there is none to use (one is
    started for the next command). `terminal`: the command gets a pty of its own, which this
    process relays to and from its own terminal."""
    path = socket_path()
    if path is None:
        return None
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        channel.connect(str(path))
    except OSError:
        channel.close()
        start_server(path)
        return None
    with channel:
        umask = os.umask(0o022)
        os.umask(umask)
        request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask, "terminal": terminal}
        replies = channel.makefile("rb")
        # The command is forked first; it gets our fds, and runs, only once we say go. A
        # server that does not answer (stopped, stuck) holds nothing of ours, and a fork
        # that comes too late finds us gone and runs nothing: the command runs here, once.
        channel.settimeout(FORK_TIMEOUT)
        try:
            channel.sendall((json.dumps(request) + "\n").encode())
            first = _reply(replies)
        except OSError:  # TimeoutError included
            return None
        if first is None or "pid" not in first:
            return None  # the server went away before it took the command: run it here
        channel.settimeout(None)
        pid = first["pid"]
        master = None
        if terminal:
            import pty

            master, slave = pty.openpty()
            _copy_size(0, master)
            fds = [slave, slave, slave]
        else:
            fds = [0, 1, 2]
        try:
            socket.send_fds(channel, [GO], fds)
        except OSError:
            return None
        finally:
            if master is not None:
                os.close(fds[0])
        for sig in FORWARDED:
            signal.signal(sig, lambda number, _frame: _pass_on(pid, number))
        if master is not None:
            relay(master, pid)
        last = _reply(replies)
    if last is None or "exit" not in last:
        sys.stderr.write("ticketdesk: error: the command's process ended without an exit status\n")
        return 1
    return last["exit"]


def relay(master: int, pid: int) -> None:
    """Be the terminal of the command's pty until it closes: keys from ours to it, its output
    to ours, our size to it when ours changes (SIGWINCH). Ours is raw meanwhile: ctrl+c and
    ctrl+z are keys for the TUI, as on its own terminal.

    A terminal that has just opened may get its size a moment after the command started, and
    the command (process `pid`) may not listen for SIGWINCH yet when the size reaches its pty:
    so the size is copied again every idle second, and once the command has drawn something
    and gone quiet, it is told to look again (one SIGWINCH)."""
    import select
    import termios
    import tty

    saved = termios.tcgetattr(0)
    signal.signal(signal.SIGWINCH, lambda _number, _frame: _copy_size(0, master))
    _copy_size(0, master)  # again: ours may have changed since the pty was made, unheard
    drawn = nudged = False
    try:
        tty.setraw(0)
        while True:
            try:
                readable, _, _ = select.select([0, master], [], [], 1.0)
            except InterruptedError:
                continue
            if not readable:
                _copy_size(0, master)  # the kernel signals the command only if it changed
                if drawn and not nudged:
                    nudged = True
                    _pass_on(pid, signal.SIGWINCH)
                continue
            if master in readable:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the command's side is closed, it has ended
                    data = b""
                if not data:
                    return
                drawn = True
                _write_all(1, data)
            if 0 in readable:
                keys = os.read(0, 4096)
                if not keys:
                    return
                _write_all(master, keys)
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, signal.SIG_DFL)
        os.close(master)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_size(source: int, target: int) -> None:
    import fcntl
    import termios

    with contextlib.suppress(OSError):
        fcntl.ioctl(target, termios.TIOCSWINSZ, fcntl.ioctl(source, termios.TIOCGWINSZ, b"\0" * 8))


def _reply(replies: BinaryIO) -> dict[str, int] | None:
    """One reply, `{"pid": N}` or `{"exit": N}`; None at the end or for anything else."""
    line = replies.readline()
    try:
        data = json.loads(line) if line else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
        return None
    return data


def _pass_on(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def start_server(path: Path) -> None:
    """Start the server in the background, detached from this terminal, for the next command."""
    import subprocess

    with contextlib.suppress(OSError):  # no warm start then: commands run here as before
        subprocess.Popen(
            [sys.executable, "-m", "ticketdesk.command_server", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
