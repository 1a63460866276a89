"""The warm command server: imports the CLI and the store once, then forks a process per
command that launch.py hands it (see there for why, and for the socket).

    python -m ticketdesk.command_server SOCKET_PATH

One connection per command, newline-ended JSON each way:

- launcher → server: `{"argv": [...], "env": {...}, "cwd": "...", "umask": N, "terminal":
  false}`; the server forks, and the forked process answers
- command → launcher: `{"pid": N}`; then
- launcher → command: `go`, with its stdin, stdout and stderr (SCM_RIGHTS), or a pty's side
  for the TUI; only now does the command run (a launcher that gave up waiting has run it
  itself, and its going away means this one runs nothing);
- command → launcher: `{"exit": CODE}` when it is done (a process killed before it could say
  is an exit without a status to the launcher).

The forked process takes the fds as 0-2, the environment, the working directory and argv,
then runs the CLI exactly as the console script does in-process, and says its exit code.
The server reaps nothing (SIGCHLD ignored: the kernel does) and exits after
TICKETDESK_WARM_IDLE seconds (600) without a connection, removing its socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import json
import os
import select
import signal
import socket
import sys
import termios
from pathlib import Path

from ticketdesk.launch import ENV_IDLE, GO

#: the longest request read (the environment of a login shell is a few kB)
MAX_REQUEST = 1 << 20


def preload() -> None:
    """Import what the commands run, so that every fork starts with it."""
    import importlib
    import pkgutil

    import sqlalchemy.dialects.postgresql.psycopg
    import sqlalchemy.dialects.sqlite  # noqa: F401

    import ticketdesk.app
    import ticketdesk.cli.app
    import ticketdesk.rules
    import ticketdesk.screens.dashboard
    import ticketdesk.screens.queue
    import ticketdesk.screens.ticket
    import ticketdesk.store

    # the commands import the store's domains and rules when they first use them: all of them here
    for package in (ticketdesk.store, ticketdesk.rules):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


def warm_up() -> None:
    """Run the commonest commands once on a scratch desk: a process's first query, change and
    page pay for building SQLAlchemy's and the ORM's process-wide caches (a first batch
    update of 1,000 tickets took 535 ms, the next 230 ms); done here, every fork starts with
    them built. A failure only means colder commands."""
    import tempfile

    from ticketdesk.rules.query import parse_query
    from ticketdesk.store import NewTicket, Store, TicketChanges

    with contextlib.suppress(Exception), tempfile.TemporaryDirectory(prefix="ticketdesk-warm-") as scratch:
        store = Store.open(f"sqlite:///{scratch}/warm.db", login="warm", check=False)
        try:
            store.init()
            numbers = [store.tickets.create(NewTicket(subject=f"warm {i}", priority="P2")) for i in range(3)]
            store.tickets.page(parse_query("status:new prio:P2 printer"), limit=50)
            store.tickets.count(parse_query(""))
            store.tickets.update(numbers, TicketChanges(priority="P1", status="open", add_tags=("warm",)))
            store.tickets.reply(numbers[0], "warm", internal=True)
            store.tickets.undo()
            store.tickets.get(numbers[0])
            store.policies.explain(numbers[0])
        finally:
            store.close()


def listen(path: Path) -> socket.socket | None:
    """The listening socket at `path`, or None when another live server has it."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
    except OSError:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            return None  # another server answers there
        except OSError:
            path.unlink(missing_ok=True)  # left by a server that died
            listener.bind(str(path))
        finally:
            probe.close()
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener


def serve(path: Path, idle: float) -> None:
    os.chdir("/")  # hold no directory of the first caller's busy; each command goes to its own
    preload()
    warm_up()
    gc.freeze()  # the imported objects stay out of the children's collections: shared pages
    listener = listen(path)
    if listener is None:
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    with listener:
        try:
            while select.select([listener], [], [], idle)[0]:
                connection, _ = listener.accept()
                if not _same_user(connection):
                    connection.close()
                    continue
                if os.fork() == 0:
                    listener.close()
                    os._exit(run_command(connection))
                connection.close()
        finally:
            with contextlib.suppress(OSError):
                if path.exists():
                    path.unlink()


def _same_user(connection: socket.socket) -> bool:
    import struct

    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()


def run_command(connection: socket.socket) -> int:
    """In the forked process: become the launcher's command, run it, say its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own children (an editor, a pager) are waited for
    try:
        argv, env, cwd, umask, terminal = _read_request(connection)
        _say(connection, {"pid": os.getpid()})
        fds = _read_go(connection)
    except (OSError, ValueError):
        return 1  # the launcher went away or ran the command itself: nothing is run here
    os.umask(umask)  # the files it makes are the caller's: their permissions too
    if terminal:  # a pty of its own (the TUI): its session, its controlling terminal
        os.setsid()
        fcntl.ioctl(fds[0], termios.TIOCSCTTY, 0)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)
    _fresh_streams()
    os.environ.clear()
    os.environ.update(env)
    with contextlib.suppress(OSError):
        os.chdir(cwd)
    sys.argv = ["ticketdesk", *argv]
    with contextlib.suppress(ImportError):
        from setproctitle import setproctitle

        setproctitle(" ".join(["ticketdesk", *argv])[:200])
    from ticketdesk.cli import exit_code_of_main  # (imported by preload already)

    code = exit_code_of_main()
    _say(connection, {"exit": code})
    return code


def _read_go(connection: socket.socket) -> list[int]:
    """The launcher's go, with the fds for 0-2; ValueError if it sent anything else or left."""
    data, fds, _flags, _address = socket.recv_fds(connection, len(GO), 3)
    if data != GO or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("no go from the launcher")
    return fds


def _read_request(connection: socket.socket) -> tuple[list[str], dict[str, str], str, int, bool]:
    """argv, environment, working directory, umask, and whether the command gets a pty of its
    own; ValueError if malformed."""
    data = connection.recv(65536)
    while not data.endswith(b"\n"):
        more = connection.recv(65536)
        if not more or len(data) > MAX_REQUEST:
            raise ValueError("the request ended early")
        data += more
    request = json.loads(data)
    if not isinstance(request, dict):
        raise ValueError("the request is not an object")
    argv, env, cwd, umask = request.get("argv"), request.get("env"), request.get("cwd"), request.get("umask")
    if not (
        isinstance(argv, list)
        and all(isinstance(a, str) for a in argv)
        and isinstance(env, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        and isinstance(cwd, str)
        and isinstance(umask, int)
        and 0 <= umask <= 0o777
    ):
        raise ValueError("the request is not {argv, env, cwd, umask}")
    return argv, env, cwd, umask, request.get("terminal") is True


def _fresh_streams() -> None:
    """sys.stdin/stdout/stderr for the fds now on 0-2, as a new process makes them (line
    buffered on a terminal)."""
    encoding = sys.stdout.encoding if sys.stdout else "utf-8"
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False),
            encoding=encoding,
            errors="backslashreplace" if fd == 2 else "strict",
            line_buffering=os.isatty(fd) or fd == 2,
            write_through=fd == 2,
        )
        setattr(sys, name, stream)


def _say(connection: socket.socket, message: dict[str, object]) -> None:
    with contextlib.suppress(OSError):  # the launcher is gone: nothing to tell
        connection.sendall((json.dumps(message) + "\n").encode())


def main() -> None:
    idle = float(os.environ.get(ENV_IDLE, "600"))
    serve(Path(sys.argv[1]).absolute(), idle)


if __name__ == "__main__":
    main()
