"""Load bench for `ticketdesk serve ssh` (issue 14, point 6): N concurrent SSH clients paging
the queue, each keypress timed to the screen update it causes, next to the same round trip
through a bare SSH server whose sessions run `cat`; the memory and idle CPU of each
session's TUI process on the server side.

    python bench/ssh.py [--db URL] [--tickets 1000000] [--sessions 1,10,30] [--keys 30]
                        [--pace 0.2,0.5] [--idle 20] [--settle 30]

About three minutes on a 2-core machine once the database exists. The database defaults to
/tmp/bench/ssh-TICKETS.db and is reused; one holding fewer than `--tickets` tickets is filled
up with demo data (~4k tickets/s), an older schema is upgraded. Agents `sshload01`… get keys
generated under /tmp/bench/ssh-keys, reused on the next run. Then, for each N of `--sessions`:

1. N asyncssh clients (xterm-256color, 120x40) log in at once to a `ticketdesk serve ssh`
   started by the bench, one agent each, and wait for their queue to be painted.
2. Each sends `--keys` keys, `j` and PgDn (3:1), one every `--pace` seconds (at random
   between the two; never before the previous key's update is complete). Timed per key,
   from sending it:
   - first byte: the first output that follows;
   - complete: the screen shows the key's result (the status line's position moved: by one
     for `j`, forward for PgDn; no row still "loading…") and the output has then been quiet
     for the settle window (`--settle`, 30 ms): the time is that of the burst's last byte,
     so the settle window itself is not in the figure. Textual paints a key as several
     frames (rows, then the status line, then the scrollbar, 15-35 ms apart), hence the
     result and a window, not the first byte or quiet alone. The client keeps a row-level model of the screen
     (`ScreenRows`: cursor positioning and the text written from column 1) to read the
     position and the "loading…" rows, rather than a full terminal emulator.
   Raw baseline, same clients, same keys and pace, same run: a bare asyncssh server
   (bench/ssh_baselines.py) whose sessions run `cat` on a raw pty; the echo is the response.
   Also: the keys per second offered, the output per key, the CPU per key of the session
   processes and of the server, and how many cores they kept busy.
3. Memory of each session's process after paging, from /proc: RSS, Pss (shared pages divided
   among the processes sharing them) and private (USS). A session is a process under the
   server on a terminal of its own; any other (a forking parent) counts as the server's.
4. Idle: `--idle` seconds without keys; the CPU of each session process (utime+stime from
   /proc/PID/stat, as % of one core) and the bytes it sent. Database queries are not counted
   (that would take strace on the process); by the code, an idle session beats its presence
   every 5 s and reads the desk's state only when the change feed wakes it (on SQLite any
   commit, a heartbeat included, does), and the server checks each session's key every 5 s.

Memory baselines: `python -c "import textual"` and `import textual.app, sqlmodel`, and the
saving of a pre-imported parent that forks each session: three sessions on local ptys forked
from a parent that imported the app first, with gc.freeze(), next to three started as their
own processes, each paged 20 keys before it is measured (bench/ssh_baselines.py).
Issue targets: 30 sessions with p95 < 100 ms; an idle session < 1 % of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with warnings.catch_warnings():  # asyncssh's import warns about DSA keys
    warnings.simplefilter("ignore")
    import asyncssh

from bench.ssh_baselines import process_usage, pty_usage
from bench.ssh_measure import (
    KEYS,
    SIZE,
    ScreenRows,
    Usage,
    cpu_seconds,
    pct,
    response,
    sessions,
    usage,
)

BENCH = Path("/tmp/bench")
KEY_DIR = BENCH / "ssh-keys"
HOST_KEY = BENCH / "ssh-host-key"
BASELINES = Path(__file__).resolve().with_name("ssh_baselines.py")
LOGIN_PREFIX = "sshload"
TIMEOUT = 120.0  # a login storm of 30 TUIs on 2 cores takes a while to paint
KEY_TIMEOUT = 10.0


def load() -> str:
    return f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")  # fmt: skip
    return f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} x {cpu}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the database, agents and keys ----------------------------------------------------------


def prepare(url: str, tickets: int, agents: int) -> tuple[int, list[tuple[str, asyncssh.SSHKey]]]:
    """The desk (filled up to `tickets`, schema upgraded) and `agents` agents with a key each."""
    from bench.store import LOGIN, ensure_data
    from ticketdesk.ssh.keys import parse_public_key
    from ticketdesk.store import Store

    store = Store.open(url, login=LOGIN, check=False)
    total = ensure_data(store, tickets)
    known = {login for login, _ in store.people.agents()}
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(1, agents + 1):
        login = f"{LOGIN_PREFIX}{i:02d}"
        if login not in known:
            store.people.add(login, role="agent", team="support")
        path = KEY_DIR / login
        if path.exists():
            key = asyncssh.read_private_key(str(path))
        else:
            key = asyncssh.generate_private_key("ssh-ed25519")
            path.write_bytes(key.export_private_key())
            path.chmod(0o600)
        owner = store.people.ssh_key_owner(key.get_fingerprint("sha256"))
        if owner is None:
            store.people.add_ssh_key(login, parse_public_key(key.export_public_key().decode()))
        out.append((login, key))
    store.close()
    return total, out


# --- servers --------------------------------------------------------------------------------


def start(argv: list[str], env: dict[str, str], banner: str) -> subprocess.Popen[str]:
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert server.stdout is not None
    line = server.stdout.readline()
    if banner not in line:
        server.kill()
        sys.exit(f"{' '.join(argv[:4])}… did not start: {line}{server.stdout.read()[-2000:]}")
    return server


def stop(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- clients --------------------------------------------------------------------------------


class Press(NamedTuple):
    key: str
    first_ms: float  # to the first byte of output after it
    complete_ms: float  # to the last byte of the update that showed its result
    out_bytes: int


@dataclass
class Client:
    key: asyncssh.SSHKey
    echo: bool  # the raw baseline: any output completes a key
    screen: ScreenRows = field(default_factory=ScreenRows)
    chunks: list[tuple[float, bool]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    want: Callable[[ScreenRows], bool] | None = None  # the screen that completes the key in flight
    received: int = 0
    ended: bool = False
    painted_s: float = 0.0
    presses: list[Press] = field(default_factory=list)
    timeouts: int = 0

    async def open(self, port: int) -> None:
        started = time.perf_counter()
        self.conn = await asyncssh.connect("127.0.0.1", port, username="desk", client_keys=[self.key],
                                           known_hosts=None, agent_path=None)  # fmt: skip
        self.process = await self.conn.create_process(
            term_type="xterm-256color", term_size=SIZE, env={"LANG": "C.UTF-8"}, encoding=None
        )
        self.reader = asyncio.ensure_future(self._read())
        if not self.echo:
            self.want = lambda s: s.position() is not None and not s.loading() and s.ticket_shown()
            if not await self._settled(0.5, TIMEOUT):
                raise TimeoutError(f"no queue painted after {TIMEOUT:.0f} s; the screen shows:\n{self.screen.text()}")
        self.painted_s = time.perf_counter() - started

    async def _read(self) -> None:
        while data := await self.process.stdout.read(65536):
            now = time.perf_counter()
            self.received += len(data)
            self.screen.feed(data)
            complete = self.echo or (self.want is not None and self.want(self.screen))
            self.chunks.append((now, complete))
            self.arrived.set()
        self.ended = True
        self.arrived.set()

    async def _settled(self, settle: float, timeout: float) -> bool:
        """Wait until a chunk completed the state and `settle` s of quiet followed."""
        deadline = time.perf_counter() + timeout
        while True:
            now = time.perf_counter()
            if any(complete for _, complete in self.chunks) and now - self.chunks[-1][0] >= settle:
                return True
            if self.ended or now > deadline:
                return False
            if any(complete for _, complete in self.chunks):
                await asyncio.sleep(settle - (now - self.chunks[-1][0]))
            else:
                self.arrived.clear()
                try:
                    await asyncio.wait_for(self.arrived.wait(), deadline - now)
                except TimeoutError:
                    return False

    async def page(self, keys: int, settle: float, pace: tuple[float, float], rng: random.Random) -> None:
        for _ in range(keys):
            name = rng.choices(["j", "pagedown"], [3, 1])[0]
            was = self.screen.cursor()
            if name == "j":  # the cursor one row down, every row on screen loaded
                self.want = lambda s, w=was: s.cursor() == w + 1 and not s.loading()
            else:  # a page down: further down
                self.want = lambda s, w=was: s.cursor() > w and not s.loading()
            self.chunks = []
            received = self.received
            sent = time.perf_counter()
            self.process.stdin.write(KEYS[name])
            if await self._settled(settle, KEY_TIMEOUT):
                timing = response(sent, self.chunks, settle)
                assert timing is not None
                self.presses.append(Press(name, *timing, self.received - received))
            else:
                self.timeouts += 1
            # the next key: `pace` after this one, and never before this one's update is complete
            await asyncio.sleep(max(rng.uniform(*pace) - (time.perf_counter() - sent), 0))

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()
        self.reader.cancel()


# --- one round: N sessions ------------------------------------------------------------------


@dataclass
class Round:
    sessions: int
    presses: list[Press]
    timeouts: int
    painted: list[float]  # s from connecting to the queue painted, per session
    paging_s: float = 0.0
    session_cpu_s: float = 0.0  # the session processes' CPU while paging, all together
    server_cpu_s: float = 0.0  # the server process's
    bench_cpu_s: float = 0.0  # this script's: the clients'
    memory: list[Usage] = field(default_factory=list)
    server_memory: Usage | None = None
    idle_cpu: list[float] = field(default_factory=list)  # % of one core, per session
    idle_server_cpu: float = 0.0
    idle_bytes: list[int] = field(default_factory=list)

    def ms(self, what: str, key: str | None = None) -> list[float]:
        """`first_ms` or `complete_ms` of every press, or of one key's."""
        return [float(getattr(p, what)) for p in self.presses if key in (None, p.key)]


async def run_round(
    port: int, keys: list[asyncssh.SSHKey], server_pid: int, args: argparse.Namespace, echo: bool
) -> Round:
    clients = [Client(key, echo) for key in keys]
    await asyncio.gather(*(c.open(port) for c in clients))
    await asyncio.sleep(1.0)
    kids, helpers = sessions(server_pid)
    if not echo and len(kids) != len(clients):
        sys.exit(f"expected {len(clients)} session processes under the server, found {len(kids)}")
    cpu0, server0, bench0 = sum(cpu_seconds(pid) for pid in kids), cpu_seconds(server_pid), sum(os.times()[:2])
    started = time.perf_counter()
    rng = random.Random(len(clients))
    await asyncio.gather(*(c.page(args.keys, args.settle / 1000, args.pace, random.Random(rng.random()))
                           for c in clients))  # fmt: skip
    result = Round(
        len(clients), [p for c in clients for p in c.presses], sum(c.timeouts for c in clients),
        [c.painted_s for c in clients], time.perf_counter() - started, sum(cpu_seconds(pid) for pid in kids) - cpu0,
        cpu_seconds(server_pid) - server0, sum(os.times()[:2]) - bench0,
    )  # fmt: skip
    if not echo:
        result.memory = [usage(pid) for pid in kids]
        result.server_memory = total_usage([usage(pid) for pid in [server_pid, *helpers]])
        before = {pid: cpu_seconds(pid) for pid in [*kids, server_pid]}
        sent = [c.received for c in clients]
        started = time.perf_counter()
        await asyncio.sleep(args.idle)
        elapsed = time.perf_counter() - started
        cpu = {pid: (cpu_seconds(pid) - before[pid]) / elapsed * 100 for pid in before}
        result.idle_server_cpu = cpu.pop(server_pid)
        result.idle_cpu = list(cpu.values())
        result.idle_bytes = [c.received - s for c, s in zip(clients, sent, strict=True)]
    await asyncio.gather(*(c.close() for c in clients))
    deadline = time.monotonic() + 15
    while sessions(server_pid)[0] and time.monotonic() < deadline:  # the TUIs end on SIGHUP
        await asyncio.sleep(0.1)
    return result


# --- memory baselines -----------------------------------------------------------------------


# --- main -----------------------------------------------------------------------------------


def ms(samples: list[float]) -> str:
    return f"{pct(samples, 0.5):.0f} / {pct(samples, 0.95):.0f} / {max(samples):.0f}" if samples else "-"


def mb(kb: float) -> str:
    return f"{kb / 1024:.0f}"


def print_tables(rounds: list[tuple[Round, Round]], memory: list[tuple[str, Usage, str]], settle: float) -> None:
    print(f"\nkeypress -> screen update, ms p50 / p95 / max (complete: settle window {settle:g} ms, not included)")
    print("| sessions | complete | `j` complete | PgDn complete | first byte | raw: asyncssh + pty + cat, complete "
          "| keys (timeouts) | target |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for app, raw in rounds:
        met = "met" if app.presses and pct(app.ms("complete_ms"), 0.95) < 100 else "not met"
        print(f"| {app.sessions} | {ms(app.ms('complete_ms'))} | {ms(app.ms('complete_ms', 'j'))} "
              f"| {ms(app.ms('complete_ms', 'pagedown'))} | {ms(app.ms('first_ms'))} | {ms(raw.ms('complete_ms'))} "
              f"| {len(app.presses) + app.timeouts} ({app.timeouts}) "
              f"| {f'p95 < 100 ms ({met})' if app.sessions >= 30 else ''} |")  # fmt: skip
    print("\nthe load while paging")
    print("| sessions | keys/s, all sessions | output per key, kB | CPU per key: session / serve ssh, ms "
          "| CPU busy: sessions + serve ssh, cores | login -> queue painted, s p50 / max |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for app, _ in rounds:
        keys = max(len(app.presses) + app.timeouts, 1)
        out = statistics.mean(p.out_bytes for p in app.presses) / 1000 if app.presses else 0
        print(f"| {app.sessions} | {keys / app.paging_s:.0f} | {out:.0f} "
              f"| {app.session_cpu_s * 1000 / keys:.0f} / {app.server_cpu_s * 1000 / keys:.1f} "
              f"| {(app.session_cpu_s + app.server_cpu_s) / app.paging_s:.2f} "
              f"| {statistics.median(app.painted):.1f} / {max(app.painted):.1f} |")  # fmt: skip
    print("\nidle (no keys), per session process")
    print("| sessions | CPU % of one core, mean (max) | serve ssh process CPU % | bytes sent per session | target |")
    print("|---|---|---|---|---|")
    for app, _ in rounds:
        cpu = app.idle_cpu
        met = "met" if max(cpu) < 1 else "not met"
        print(f"| {app.sessions} | {statistics.mean(cpu):.2f} ({max(cpu):.2f}) | {app.idle_server_cpu:.2f} "
              f"| {statistics.mean(app.idle_bytes):.0f} | < 1 % ({met}) |")  # fmt: skip
    print("\nmemory, MB (Pss: shared pages divided among the processes sharing them; private: USS)")
    print("| process | RSS | Pss | private | note |\n|---|---|---|---|---|")
    for name, use, note in memory:
        print(f"| {name} | {mb(use.rss)} | {mb(use.pss)} | {mb(use.private)} | {note} |")


def total_usage(uses: list[Usage]) -> Usage:
    return Usage(sum(u.rss for u in uses), sum(u.pss for u in uses), sum(u.private for u in uses))


def mean_usage(uses: list[Usage]) -> Usage:
    n = max(len(uses), 1)
    return Usage(sum(u.rss for u in uses) / n, sum(u.pss for u in uses) / n, sum(u.private for u in uses) / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLAlchemy URL (default: sqlite:////tmp/bench/ssh-TICKETS.db)")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated session counts (default 1,10,30)")
    parser.add_argument("--keys", type=int, default=30, help="keys each session sends (default 30)")
    parser.add_argument("--idle", type=float, default=20, help="seconds of the idle measurement (default 20)")
    parser.add_argument("--settle", type=float, default=30, help="quiet that ends a key's update, ms (default 30)")
    parser.add_argument("--pace", default="0.2,0.5", help="seconds from one key to the next, MIN,MAX (default 0.2,0.5)")
    args = parser.parse_args()
    try:
        args.pace = tuple(float(x) for x in args.pace.split(","))
        if len(args.pace) != 2 or not 0 <= args.pace[0] <= args.pace[1]:
            raise ValueError
    except ValueError:
        sys.exit(f"--pace: expected MIN,MAX seconds (for example 0.2,0.5), got {args.pace!r}")
    url = args.db or f"sqlite:///{BENCH / f'ssh-{args.tickets}.db'}"
    try:
        counts = [int(n) for n in args.sessions.split(",")]
    except ValueError:
        sys.exit(f"--sessions: expected numbers separated by commas, got {args.sessions!r}")
    if not counts or min(counts) < 1:
        sys.exit(f"--sessions: expected numbers of 1 or more, got {args.sessions!r}")

    BENCH.mkdir(parents=True, exist_ok=True)
    total, agents = prepare(url, args.tickets, max(counts))
    exe = str(Path(sys.executable).with_name("ticketdesk"))
    if not Path(exe).exists():
        exe = shutil.which("ticketdesk") or "ticketdesk"
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its bytecode cached
    env.pop("TICKETDESK_AGENT", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "ticketdesk")],
                   check=True, env=env)  # fmt: skip
    print(f"{machine()}\ndatabase: {url}, {total:,} tickets; {load()}", flush=True)

    port, echo_port = free_port(), free_port()
    server = start([exe, "--db", url, "--as", "bench", "serve", "ssh", "--listen", f"127.0.0.1:{port}",
                    "--host-key", str(HOST_KEY), "--max-sessions", str(max(counts))],
                   env, "serving the desk over ssh")  # fmt: skip
    echo = start([sys.executable, str(BASELINES), "echo", str(echo_port)], env, "echo server")
    rounds = []
    try:
        for n in counts:
            keys = [key for _, key in agents[:n]]
            print(f"{n} session{'s' if n > 1 else ''}: serve ssh ...", flush=True)
            app = asyncio.run(run_round(port, keys, server.pid, args, echo=False))
            print(f"  complete p50/p95/max {ms(app.ms('complete_ms'))} ms; raw (cat) ...", flush=True)
            raw = asyncio.run(run_round(echo_port, keys, echo.pid, args, echo=True))
            rounds.append((app, raw))
        largest = rounds[-1][0]
        assert largest.server_memory is not None
        memory = [
            (f"session TUI, mean of {largest.sessions}", mean_usage(largest.memory),
             f"max RSS {mb(max(u.rss for u in largest.memory))}; all {largest.sessions}: "
             f"Pss {mb(sum(u.pss for u in largest.memory))}"),
            ("serve ssh process (and any helper under it)", largest.server_memory,
             f"with {largest.sessions} sessions"),
            ("echo server (raw)", usage(echo.pid), "asyncssh, no sessions"),
        ]  # fmt: skip
    finally:
        stop(server)
        stop(echo)
    print("memory baselines ...", flush=True)
    memory.append(("python -c 'import textual'", process_usage("import textual", env), "raw"))
    memory.append(("python -c 'import textual.app, sqlmodel'", process_usage("import textual.app, sqlmodel", env),
                   "raw: the imports of any TUI over this store"))  # fmt: skip
    logins = [login for login, _ in agents[:3]]
    for mode in ("exec", "fork"):
        kids, parent = pty_usage(mode, url, logins, env)
        what = "own process each (as serve ssh does)" if mode == "exec" else "forked from a pre-imported parent"
        memory.append((f"session on a local pty, {what}, mean of {len(kids)}", mean_usage(kids),
                       "20 keys paged" + (f"; parent RSS {mb(parent.rss)} Pss {mb(parent.pss)}" if mode == "fork" else "")))  # fmt: skip
    print_tables(rounds, memory, args.settle)
    print(f"\nthe bench's own CPU while paging (all clients, {counts[-1]} sessions): "
          f"{rounds[-1][0].bench_cpu_s:.1f} s; {load()} at the end")  # fmt: skip


if __name__ == "__main__":
    main()
