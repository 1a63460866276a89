"""The session fork server: one process that has imported the TUI forks each `serve ssh`
session, instead of each session starting Python and importing Textual, SQLAlchemy and the
desk afresh (issue 14, point 6).

What that saves, measured by bench/ssh.py: a login storm paints its queues several times
sooner (an import is about a second of CPU per session, 30 of them on 2 cores queue up),
and each session keeps ~25 MB less private memory, the imported modules' pages being
shared with the fork server (`gc.freeze()` keeps the collector from touching, and so
copying, them).

It is its own program (`python -m ticketdesk.ssh.forkserver FD`), started by the server
and not forked from it: the server runs an event loop and threads, and a fork of a threaded
process is not safe. The two talk over a Unix SEQPACKET socket (FD), one message each way
per event, JSON:

- server → fork server: `{"argv": [...], "env": {...}}` with the session's pty (its
  terminal side) passed along (SCM_RIGHTS);
- fork server → server: `{"pid": N}` once the session's process is forked, or
  `{"error": "..."}`; later `{"exit": N, "status": S}` when it ends (S as
  `Popen.returncode`: its exit code, or minus the signal that ended it).

The forked session starts a session of its own (`setsid`), takes the pty as its controlling
terminal and stdin/stdout/stderr, the environment it was sent, and the title of the command
it stands for (`ps` shows `ticketdesk --db … --as LOGIN`); then runs the CLI in-process. The
fork server exits when the server closes its end (the server stopped or died); the sessions
then lose their terminal (the server held the other side) and end on the hang-up.

The server's side is ssh/fork_client.py (a module of its own: the server must not import
the CLI, which this program runs).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import select
import signal
import socket
import sys
import termios
from typing import Any

from setproctitle import setproctitle

from ticketdesk.ssh.fork_client import MESSAGE_SIZE


def preload() -> None:
    """Import what a TUI session runs, so that every fork starts with it in shared pages."""
    import sqlalchemy.dialects.postgresql.psycopg
    import sqlalchemy.dialects.sqlite  # noqa: F401

    import ticketdesk.app
    import ticketdesk.cli.app
    import ticketdesk.cli.desk
    import ticketdesk.screens.dashboard
    import ticketdesk.screens.queue
    import ticketdesk.screens.ticket
    import ticketdesk.store  # noqa: F401


def exit_status(wait_status: int) -> int:
    """`os.waitpid`'s status as `Popen.returncode` has it."""
    return os.waitstatus_to_exitcode(wait_status)


def run_session(argv: list[str], env: dict[str, str], terminal: int) -> int:
    """In the forked child: become the session on `terminal`, run the CLI; its exit code."""
    os.setsid()
    fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(terminal, fd)
    if terminal > 2:
        os.close(terminal)
    # the title first: it takes the room of the process's first environment
    setproctitle(" ".join(argv))
    os.environ.clear()
    os.environ.update(env)
    sys.argv = list(argv)
    # sys.stdin/stdout/stderr are the fork server's, on fds 0-2: now the pty (nothing was
    # written to them before, so no buffer holds anything)
    from ticketdesk.cli import exit_code_of_main

    return exit_code_of_main()


def send(channel: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the server is gone: nothing to tell
        channel.send(json.dumps(message).encode())


def serve(channel: socket.socket) -> None:
    """Fork a session per request until the server closes the channel."""
    preload()
    gc.freeze()  # the imported objects stay out of the children's collections: shared pages
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wake-up fd is written
    # the server's terminal may send its Ctrl-C to the whole group: the server decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send(channel, {"ready": os.getpid()})
    while True:
        readable, _, _ = select.select([channel.fileno(), wake_read], [], [])
        if wake_read in readable:
            os.read(wake_read, 512)
            reap(channel)
        if channel.fileno() in readable:
            try:
                data, fds, _, _ = socket.recv_fds(channel, MESSAGE_SIZE, 1)
            except ConnectionResetError:
                data, fds = b"", []
            if not data:
                return  # the server stopped
            fork_one(channel, data, fds, (wake_read, wake_write))


def fork_one(channel: socket.socket, data: bytes, fds: list[int], own: tuple[int, int]) -> None:
    try:
        request = json.loads(data)
        argv, env = list(request["argv"]), dict(request["env"])
        (terminal,) = fds
    except (ValueError, KeyError, TypeError) as exc:
        for fd in fds:
            os.close(fd)
        send(channel, {"error": f"bad request: {exc}"})
        return
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            channel.close()
            signal.set_wakeup_fd(-1)
            for fd in own:
                os.close(fd)
            for sig in (signal.SIGCHLD, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            code = run_session(argv, env, terminal)
        finally:
            os._exit(code)
    os.close(terminal)
    send(channel, {"pid": pid})


def reap(channel: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        send(channel, {"exit": pid, "status": exit_status(status)})


def main() -> None:
    channel = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(channel)
    finally:
        channel.close()


if __name__ == "__main__":
    main()
