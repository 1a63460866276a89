"""The session fork server (ssh/forkserver.py) on its own: real processes on real ptys. The
ssh tests (test_serve_ssh, test_team_desk, …) run every session through it as well."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from ticketdesk.ssh.fork_client import ForkServer
from ticketdesk.ssh.session_command import tui_command

TICKETDESK = tui_command("", "")[:-4]  # this installation's `ticketdesk`


def make_desk(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'td.db'}"
    subprocess.run([*TICKETDESK, "--db", url, "--as", "admin", "init"], check=True, capture_output=True)
    subprocess.run([*TICKETDESK, "--db", url, "--as", "admin", "agent", "add", "ana"], check=True, capture_output=True)
    return url


@contextlib.asynccontextmanager
async def fork_server() -> AsyncIterator[ForkServer]:
    forker = ForkServer()
    await forker.start()
    try:
        yield forker
    finally:
        await forker.stop()


async def session(forker: ForkServer, argv: list[str], env: dict[str, str]) -> tuple[int, int, str]:
    """Fork `argv` on a new pty and let it run to its end: (pid, exit status, what it wrote)."""
    master, terminal = os.openpty()
    try:
        pid = await forker.spawn(argv, env, terminal)
    finally:
        os.close(terminal)
    output = b""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await loop.run_in_executor(None, os.read, master, 65536)
        except OSError:  # EIO: the session closed its terminal
            break
        if not data:
            break
        output += data
    status = await asyncio.wait_for(forker.ended(pid), 10)
    os.close(master)
    return pid, status, output.decode(errors="replace")


def test_a_forked_session_runs_the_cli_with_its_own_environment_and_exit_status(tmp_path: Path) -> None:
    url = make_desk(tmp_path)

    async def run() -> None:
        async with fork_server() as forker:
            # the environment is the session's own: the database comes from it here
            env = {"PATH": os.environ["PATH"], "TICKETDESK_DB": url, "TERM": "dumb"}
            pid, status, output = await session(forker, [*TICKETDESK, "--as", "ana", "who"], env)
            assert status == 0, output
            assert output.strip() == "nobody has the TUI open", output
            # a refusal is its exit status, and the message reached its terminal
            pid2, status, output = await session(forker, [*TICKETDESK, "--db", url, "--as", "mallory"], env)
            assert status == 1
            assert "no agent with login 'mallory'" in output
            assert pid2 != pid
        assert forker._process is not None and forker._process.returncode is not None  # stopped with it

    asyncio.run(run())


def test_a_session_is_titled_and_parented_by_the_fork_server_and_ends_on_hang_up(tmp_path: Path) -> None:
    """A TUI session: titled with the command it stands for, a child of the fork server, the
    leader of its own process group (the server hangs up on the group); a signal that ends
    it is its status, as Popen.returncode says it."""
    url = make_desk(tmp_path)

    async def run() -> None:
        async with fork_server() as forker:
            master, terminal = os.openpty()
            argv = tui_command(url, "ana")
            env = {"PATH": os.environ["PATH"], "TERM": "xterm-256color", "HOME": str(tmp_path)}
            pid = await forker.spawn(argv, env, terminal)
            os.close(terminal)
            for _ in range(100):  # the child titles itself first thing; wait for it
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                if title == " ".join(argv):
                    break
                await asyncio.sleep(0.05)
            assert title == " ".join(argv)
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            assert forker._process is not None
            assert int(stat[1]) == forker._process.pid  # ppid
            assert int(stat[2]) == pid  # its own process group (and session)
            os.killpg(pid, signal.SIGKILL)
            assert await asyncio.wait_for(forker.ended(pid), 10) == -signal.SIGKILL
            os.close(master)

    asyncio.run(run())


def test_a_fork_server_that_died_is_started_again_on_the_next_login(tmp_path: Path) -> None:
    url = make_desk(tmp_path)

    async def run() -> None:
        async with fork_server() as forker:
            env = {"PATH": os.environ["PATH"], "TERM": "dumb"}
            argv = [*TICKETDESK, "--db", url, "--as", "ana", "who"]
            assert (await session(forker, argv, env))[1] == 0
            first = forker._process
            assert first is not None
            first.kill()
            await first.wait()
            assert (await session(forker, argv, env))[1] == 0
            assert forker._process is not first and forker.running

    asyncio.run(run())
