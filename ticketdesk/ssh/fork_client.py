"""The server's side of the session fork server (ssh/forkserver.py, where the protocol is
described): start it, ask it for a session, learn how each session ended."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from typing import Any

#: largest message either way (an environment is a few kB)
MESSAGE_SIZE = 1 << 20


class ForkServerGone(Exception):
    """The fork server could not be started, or ended while a session was being forked."""


class ForkServer:
    """`serve ssh`'s handle on the fork server: started with the server, started again if it
    ever ends; `spawn` forks a session, `ended` says how it ended."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._channel: socket.socket | None = None
        self._ready = asyncio.Event()
        self._reader: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()  # one request at a time: the next {"pid"} answers it
        self._reply: asyncio.Future[dict[str, Any]] | None = None
        self._exits: dict[int, asyncio.Future[int]] = {}

    async def start(self) -> None:
        """Start it; it imports the TUI meanwhile (the first `spawn` waits for that)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ticketdesk.ssh.forkserver", str(theirs.fileno()),
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            theirs.close()
        ours.setblocking(False)
        self._channel = ours
        self._ready = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read(ours))

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None and self._channel is not None

    async def _read(self, channel: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.sock_recv(channel, MESSAGE_SIZE)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "ready" in message:
                self._ready.set()
            elif "exit" in message:
                self._exit_of(int(message["exit"])).set_result(int(message["status"]))
            elif self._reply is not None and not self._reply.done():
                self._reply.set_result(message)
        # gone: a session being forked is told; sessions already running are not its to end
        # (each ends when its terminal closes, see ssh/server.py)
        if self._channel is channel:
            self._channel = None
        channel.close()
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(ForkServerGone("the session fork server ended"))
        self._ready.set()

    def _exit_of(self, pid: int) -> asyncio.Future[int]:
        if pid not in self._exits:
            self._exits[pid] = asyncio.get_running_loop().create_future()
        return self._exits[pid]

    async def spawn(self, argv: list[str], env: dict[str, str], terminal: int) -> int:
        """Fork a session running `argv` with `env` on `terminal` (a pty's terminal side,
        which the caller keeps and closes); its pid, also its process group's."""
        async with self._lock:
            if not self.running:
                await self.start()
            await self._ready.wait()
            channel = self._channel
            if channel is None:
                raise ForkServerGone("the session fork server did not start")
            self._reply = asyncio.get_running_loop().create_future()
            request = json.dumps({"argv": argv, "env": env}).encode()
            try:
                socket.send_fds(channel, [request], [terminal])
            except OSError as exc:  # a full buffer would be a fork server that no longer reads
                raise ForkServerGone(f"the session fork server is not answering: {exc}") from exc
            reply = await self._reply
        if "pid" not in reply:
            raise ForkServerGone(str(reply.get("error", reply)))
        return int(reply["pid"])

    async def ended(self, pid: int) -> int:
        """How session `pid` ended (as `Popen.returncode`). Never answered when the fork
        server itself is gone: the caller also watches the session's terminal."""
        status = await self._exit_of(pid)
        del self._exits[pid]
        return status

    async def stop(self) -> None:
        """Close the channel: the fork server exits (its sessions were ended before)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._reader is not None:
            self._reader.cancel()
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
