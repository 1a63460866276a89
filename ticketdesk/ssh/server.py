"""`ticketdesk serve ssh`: an SSH server (asyncssh) that serves the TUI and nothing else.

- Public-key authentication only; the key alone decides the agent (store `people.ssh_key_owner`),
  whatever user name the client gives. An unknown key, or a deactivated agent's, is refused.
- Each session runs `ticketdesk --db URL --as LOGIN` in its own process on its own
  pseudo-terminal: one agent's crash or blocking call never touches another's. The process
  is forked by the session fork server (ssh/forkserver.py, ssh/fork_client.py), which has imported the TUI
  once, rather than started afresh: logins paint sooner and share memory. The client's
  TERM, LANG and NO_COLOR reach it; window changes are passed on to the pty (the kernel then
  signals the app with SIGWINCH).
- Nothing else: no shell or `exec` of a command (`ssh host ls` gets one line and status 1), no
  session without a pty, no port, agent or X11 forwarding, no SFTP/SCP.
- Logins, logouts and refusals are written to the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import sys
import termios
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

with warnings.catch_warnings():  # asyncssh's import warns about DSA keys, which it will drop
    warnings.simplefilter("ignore")
    import asyncssh

from ticketdesk.ssh.fork_client import ForkServer, ForkServerGone
from ticketdesk.ssh.session_command import tui_command

if TYPE_CHECKING:
    from ticketdesk.store import Store

#: the client environment a session passes on to its TUI (OpenSSH sends it with SendEnv)
PASSED_ENV = ("LANG", "LC_ALL", "LC_MESSAGES", "NO_COLOR", "COLORTERM")
ONLY_THE_DESK = "ticketdesk: this server serves the ticketdesk TUI only: connect with `ssh -t` and no command\r\n"
NEEDS_A_TERMINAL = "ticketdesk: the desk needs a terminal: connect with `ssh -t`\r\n"
#: on SIGTERM, how long the server waits for its live sessions to end before it exits anyway
#: (a service manager's stop timeout must be longer: docs/ticketdesk-ssh.service)
GRACEFUL_STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Limits:
    #: seconds without a key from the client before the session is closed (0: never)
    idle_timeout: float = 3600
    #: live sessions one agent may have, and the server in total
    sessions_per_agent: int = 3
    sessions: int = 50
    #: failed logins a source address may make in a minute before it is turned away
    auth_failures: int = 10
    #: how often a live session checks that its agent is still active and its key still theirs
    recheck: float = 5.0


@dataclass(frozen=True)
class ServeOptions:
    url: str
    host: str = "0.0.0.0"
    port: int = 2222
    host_key: Path = Path("ssh_host_ed25519_key")
    limits: Limits = Limits()


class Tally:
    """The server's live sessions per agent and its recent failed logins per address."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.live: dict[str, int] = {}
        self.failures: dict[str, list[float]] = {}

    def throttled(self, address: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.failures.get(address, []) if now - t < 60]
        self.failures[address] = recent
        return len(recent) >= self.limits.auth_failures

    def failed(self, address: str) -> None:
        self.failures.setdefault(address, []).append(time.monotonic())

    def full(self, login: str) -> str | None:
        """Why `login` may not open another session now, or None."""
        if self.live.get(login, 0) >= self.limits.sessions_per_agent:
            n = self.limits.sessions_per_agent
            return f"ticketdesk: {login} already has {n} session{'s' if n != 1 else ''} open, the most allowed\r\n"
        if sum(self.live.values()) >= self.limits.sessions:
            return "ticketdesk: the server is full; try again later\r\n"
        return None


def load_or_make_host_key(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The server's host key, made on first start (mode 0600) and reused after; (key, made)."""
    if path.exists():
        return asyncssh.read_private_key(str(path)), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
    return key, True


class DeskServer(asyncssh.SSHServer):
    """One per connection: authentication by key, nothing forwarded."""

    def __init__(self, store: Store, tally: Tally) -> None:
        self.store = store
        self.tally = tally
        self.peer = "?"
        self.login: str | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "?"
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        return True  # a key is always needed

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # the store is asked off the event loop: one slow database read must not hold up
        # every other agent's session
        fingerprint = key.get_fingerprint("sha256")
        if self.tally.throttled(self.peer):
            await audit(self.store, "ssh_throttled", self.peer, f"too many failed logins; {fingerprint}")
            return False
        from ticketdesk.store import StoreError

        try:
            owner = await asyncio.to_thread(self.store.people.ssh_key_owner, fingerprint)
        except StoreError as exc:  # the database is away: nobody can be checked, so nobody gets in
            sys.stderr.write(f"ticketdesk serve ssh: login from {self.peer} refused: {exc}\n")
            return False
        if owner is None or not owner.active:
            self.tally.failed(self.peer)
            why = "unknown key" if owner is None else f"key of deactivated agent {owner.login}"
            await audit(self.store, "ssh_refused", self.peer, f"{why} {fingerprint}")
            return False
        self.login = owner.login
        self.conn.set_extra_info(desk_login=owner.login, desk_key=fingerprint)
        return True


async def audit(store: Store, action: str, target: str | None, detail: str | None = None) -> None:
    """An audit entry, written off the event loop. With the database away the entry is lost
    and said on stderr; the login or session it is about goes on (or is refused) as it would."""
    from ticketdesk.store import StoreError

    try:
        await asyncio.to_thread(store.audit.record, action, target, detail)
    except StoreError as exc:
        sys.stderr.write(f"ticketdesk serve ssh: audit entry {action} {target} not written: {exc}\n")


def _set_size(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def refusal(process: asyncssh.SSHServerProcess[bytes]) -> str | None:
    """Why this session request gets no desk (a command, no terminal), or None."""
    if process.command is not None:
        return ONLY_THE_DESK
    if process.get_terminal_type() is None:
        return NEEDS_A_TERMINAL
    return None


async def run_session(
    process: asyncssh.SSHServerProcess[bytes],
    url: str,
    login: str,
    *,
    forker: ForkServer,
    limits: Limits,
    still_allowed: Callable[[], bool],
    stopping: asyncio.Event,
) -> None:
    """One agent's TUI in its own process on its own pty, bytes pumped both ways."""
    term = process.get_terminal_type() or "xterm"
    width, height, _, _ = process.get_terminal_size()
    master, slave = os.openpty()
    _set_size(master, width or 80, height or 24)
    # the server's own terminal settings are not the client's: COLUMNS/LINES would pin the
    # TUI's size (window changes then do nothing)
    env = {k: v for k, v in os.environ.items() if k not in ("TICKETDESK_AGENT", "COLUMNS", "LINES", *PASSED_ENV)}
    env.update({k: v for k, v in process.env.items() if k in PASSED_ENV})
    env["TERM"] = term
    # as OpenSSH sets it: the TUI's presence says the agent came in over ssh
    peer, local = process.get_extra_info("peername") or ("?", 0), process.get_extra_info("sockname") or ("?", 0)
    env["SSH_CONNECTION"] = f"{peer[0]} {peer[1]} {local[0]} {local[1]}"
    env.setdefault("COLORTERM", "truecolor" if "256" in term or "direct" in term else "")
    if not env["COLORTERM"]:
        del env["COLORTERM"]
    try:
        pid = await forker.spawn(tui_command(url, login), env, slave)
    except ForkServerGone as exc:
        process.stderr.write(f"ticketdesk: the desk could not be started, try again: {exc}\r\n".encode())
        process.exit(1)
        return
    finally:
        os.close(slave)
    loop = asyncio.get_running_loop()
    output_done = asyncio.Event()

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            data = b""
        if data:
            process.stdout.write(data)
        else:
            loop.remove_reader(master)
            output_done.set()

    loop.add_reader(master, readable)

    ended_because: list[str] = []

    async def pump_input() -> None:
        idle = limits.idle_timeout or None
        while True:
            try:
                data = await asyncio.wait_for(process.stdin.read(65536), idle)
            except TimeoutError:
                ended_because.append(f"idle for {limits.idle_timeout:g} s")
                return
            except asyncssh.TerminalSizeChanged as change:
                _set_size(master, change.width, change.height)
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:  # the client went away
                return
            with contextlib.suppress(OSError):
                os.write(master, data)

    async def watch_agent() -> None:
        while True:
            await asyncio.sleep(limits.recheck)
            if not await asyncio.to_thread(still_allowed):
                ended_because.append(f"{login} may no longer log in (deactivated, or the key was removed)")
                return

    async def server_stops() -> None:
        await stopping.wait()
        ended_because.append("the server is stopping; log in again when it is back")

    feeding = asyncio.ensure_future(pump_input())
    waiting = asyncio.ensure_future(forker.ended(pid))
    watching = asyncio.ensure_future(watch_agent())
    stop = asyncio.ensure_future(server_stops())
    # the TUI's terminal closing ends the session too: should the fork server be gone, its
    # exit would never be told
    closed = asyncio.ensure_future(output_done.wait())
    await asyncio.wait({feeding, waiting, watching, stop, closed}, return_when=asyncio.FIRST_COMPLETED)
    watching.cancel()
    stop.cancel()
    if closed.done() and not waiting.done():  # it closed its terminal: its exit follows
        await asyncio.wait({waiting}, timeout=2)
    if not waiting.done():  # the client left first: end their TUI
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGHUP)
        await asyncio.wait({waiting}, timeout=5)
        if not waiting.done():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            await asyncio.wait({waiting}, timeout=5)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(output_done.wait(), 2)
    loop.remove_reader(master)
    os.close(master)
    feeding.cancel()
    closed.cancel()
    if waiting.done():
        status = waiting.result()
    else:  # the fork server is gone, and with it how this one ended
        waiting.cancel()
        ended_because.append("the desk's process ended and how it ended is not known")
        status = 1
    if ended_because:
        process.stderr.write(f"\r\nticketdesk: session closed: {ended_because[0]}\r\n".encode())
        status = 0 if ended_because[0].startswith("idle") else 1
    process.exit(status if status >= 0 else 128 - status)


async def serve(options: ServeOptions, store: Store, *, ready: Callable[[str], None]) -> None:
    key, _ = load_or_make_host_key(options.host_key)
    tally = Tally(options.limits)
    stopping = asyncio.Event()
    forker = ForkServer()
    await forker.start()  # it imports the TUI while the server starts listening

    async def session(process: asyncssh.SSHServerProcess[bytes]) -> None:
        login: str = process.get_extra_info("desk_login")
        peer = process.get_extra_info("peername")
        source = str(peer[0]) if peer else "?"
        refused = refusal(process)
        if refused is not None:
            await audit(store, "ssh_refused", login, f"from {source}: {refused.strip()}")
            process.stderr.write(refused.encode())
            process.exit(1)
            return
        full = tally.full(login)
        if full is not None:
            await audit(store, "ssh_refused", login, f"from {source}: {full.strip()}")
            process.stderr.write(full.encode())
            process.exit(1)
            return
        fingerprint: str = process.get_extra_info("desk_key")

        def still_allowed() -> bool:
            from ticketdesk.store import StoreError

            try:
                owner = store.people.ssh_key_owner(fingerprint)
            except StoreError:  # the database is away: the session goes on; checked again later
                return True
            return owner is not None and owner.active and owner.login == login

        tally.live[login] = tally.live.get(login, 0) + 1
        await audit(store, "ssh_login", login, f"from {source}")
        try:
            await run_session(
                process, options.url, login,
                forker=forker, limits=options.limits, still_allowed=still_allowed, stopping=stopping,
            )  # fmt: skip
        finally:
            tally.live[login] -= 1
            await audit(store, "ssh_logout", login)

    def server() -> DeskServer:
        return DeskServer(store, tally)

    listener = await asyncssh.create_server(
        server,
        options.host,
        options.port,
        server_host_keys=[key],
        process_factory=session,
        encoding=None,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        sftp_factory=None,
        line_editor=False,
    )
    ready(key.get_fingerprint("sha256"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # graceful: no new logins; every live session is told and its TUI ended (SIGHUP), then
    # the server exits once they are gone (at most GRACEFUL_STOP_SECONDS)
    listener.close()
    stopping.set()
    deadline = time.monotonic() + GRACEFUL_STOP_SECONDS
    while any(tally.live.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await forker.stop()
    await listener.wait_closed()


def run(options: ServeOptions, store: Store, ready: Callable[[str], None]) -> Any:
    return asyncio.run(serve(options, store, ready=ready))
