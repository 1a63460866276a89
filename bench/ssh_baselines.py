"""The raw baselines of bench/ssh.py, each run as its own process:

    python bench/ssh_baselines.py echo PORT        # an SSH server whose sessions run `cat`
    python bench/ssh_baselines.py pty MODE URL LOGINS

`echo`: asyncssh with any key accepted, each session `cat` on a raw pty pumped as serve ssh
pumps a TUI: the keypress round trip without the app. `pty`: three TUI sessions on local
ptys, paged 20 keys each, then kept until stdin closes (their pids on stdout): MODE `exec`
starts each as its own process (as serve ssh does), `fork` forks each from a parent that
imported the app first (a pre-forking server), for their memory side by side.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with warnings.catch_warnings():  # asyncssh's import warns about DSA keys
    warnings.simplefilter("ignore")
    import asyncssh

from bench.ssh_measure import KEYS, SIZE, ScreenRows, Usage, read_until, usage

PAINT_TIMEOUT = 120.0


class EchoServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return True


async def echo_session(process: asyncssh.SSHServerProcess[bytes]) -> None:
    """`cat` on a raw pty, pumped as serve ssh pumps a TUI: the transport without the app."""
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    child = await asyncio.create_subprocess_exec("cat", stdin=slave, stdout=slave, start_new_session=True)
    os.close(slave)
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            process.stdout.write(data)
        else:
            loop.remove_reader(master)

    loop.add_reader(master, readable)
    while data := await process.stdin.read(65536):
        os.write(master, data)
    child.kill()
    await child.wait()
    loop.remove_reader(master)
    os.close(master)
    process.exit(0)


async def echo_server(port: int) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    await asyncssh.create_server(EchoServer, "127.0.0.1", port, server_host_keys=[key], process_factory=echo_session,
                                 encoding=None, line_editor=False)  # fmt: skip
    print(f"echo server on 127.0.0.1:{port}", flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()


def process_usage(code: str, env: dict[str, str]) -> Usage:
    """Usage of `python -c CODE` once it has run (it prints a line, then sleeps)."""
    proc = subprocess.Popen([sys.executable, "-c", f"{code}\nprint('ready', flush=True)\nimport time; time.sleep(600)"],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()
    try:
        return usage(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def pty_usage(mode: str, url: str, logins: list[str], env: dict[str, str]) -> tuple[list[Usage], Usage]:
    """Three sessions on local ptys (`fork`: forked from a pre-imported parent; `exec`: each its
    own process, as serve ssh starts them): their usage after paging, and the parent's."""
    argv = [sys.executable, __file__, "pty", mode, url, ",".join(logins)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    try:
        pids = json.loads(line)
    except json.JSONDecodeError:
        sys.exit(f"{Path(__file__).name} pty {mode} failed: {line}")
    try:
        return [usage(pid) for pid in pids], usage(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(30)


def pty_sessions(mode: str, url: str, logins: list[str]) -> None:
    """The child side of `pty_usage`: start, paint and page the sessions, print their pids,
    keep them until stdin closes."""
    import fcntl
    import gc
    import pty
    import struct
    import termios

    from ticketdesk.ssh.session_command import tui_command

    if mode == "fork":  # what a pre-forking serve ssh would import before its first session
        import sqlalchemy.dialects.sqlite  # noqa: F401
        import sqlmodel  # noqa: F401

        import ticketdesk.app
        import ticketdesk.cli
        import ticketdesk.screens.queue
        import ticketdesk.store.tickets.pages

        gc.freeze()  # the imported objects stay out of the child's collections: fewer pages copied
    sessions = []
    for login in logins:
        argv = tui_command(url, login)
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
            os.environ["TERM"] = "xterm-256color"
            if mode == "exec":
                os.execv(argv[0], argv)
            sys.argv = argv
            code = 0
            try:
                ticketdesk.cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            os._exit(code)
        sessions.append((pid, fd, ScreenRows()))
    for _, fd, screen in sessions:
        read_until(fd, screen, lambda s: s.ticket_shown() and s.cursor() > 0 and not s.loading(), PAINT_TIMEOUT)
    for _, fd, screen in sessions:
        for i in range(20):
            was = screen.cursor()
            os.write(fd, KEYS["pagedown" if i % 4 == 3 else "j"])
            read_until(fd, screen, lambda s, w=was: s.cursor() > w and not s.loading(), 10)  # type: ignore[misc]
    print(json.dumps([pid for pid, _, _ in sessions]), flush=True)
    sys.stdin.read()
    for pid, _, _ in sessions:
        os.kill(pid, signal.SIGHUP)


def main() -> None:
    if sys.argv[1:2] == ["echo"] and len(sys.argv) == 3:
        asyncio.run(echo_server(int(sys.argv[2])))
    elif sys.argv[1:2] == ["pty"] and len(sys.argv) == 5 and sys.argv[2] in ("fork", "exec"):
        pty_sessions(sys.argv[2], sys.argv[3], sys.argv[4].split(","))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
