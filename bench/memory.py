"""Memory over a working day, measured from outside: the real TUI in a tmux pane, driven by
keys as an agent's day would be (moving and paging in the queue, searching, opening tickets,
the dashboard), its resident memory read from /proc after each simulated half hour.

    python bench/memory.py [--db URL] [--hours 8] [--keys-per-hour 1800]

Issue 16, point 5: within 25 MB of its size after the first minute, in which the agent has
done each thing once. The day is compressed: keys go as fast as the screen settles, not at a
person's pace; what grows with use grows the same. Every action starts from the queue and
waits for the screen it opens, so no key lands where it was not meant (a letter typed on a
ticket screen is a command there). TICKETDESK_WARM=0: the pane's process is the TUI itself.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store import LOGIN

DEFAULT_DB = "sqlite:////tmp/bench/bench-store.db"
SEARCHES = ("printer", "vpn", "打印机", "invoice", "password", "laptop", "outlook", "网络")
PANE = "day"


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=True).stdout


def pane(socket: str) -> str:
    return tmux(socket, "capture-pane", "-p", "-t", PANE)


def keys(socket: str, *sent: str) -> None:
    tmux(socket, "send-keys", "-t", PANE, *sent)


def until(socket: str, shows: Callable[[str], bool], what: str, limit: float = 20.0) -> str:
    """The pane once `shows` holds for it and it has stopped changing."""
    started, last, since = time.monotonic(), "", time.monotonic()
    while time.monotonic() - started < limit:
        now = pane(socket)
        if now != last:
            last, since = now, time.monotonic()
        elif shows(now) and time.monotonic() - since >= 0.05:
            return now
        time.sleep(0.02)
    raise SystemExit(f"the screen never showed {what}; it shows:\n{last}")


def on_queue(text: str) -> bool:
    return "sort " in text and "⏎ Open" in text


def search_open(text: str) -> bool:
    return text.rstrip().splitlines()[-1].lstrip().startswith("/ Search")


def act(socket: str, rng: random.Random, action: str) -> int:
    """One action from the queue and back to it; the keys it took."""
    if action == "move":
        keys(socket, *rng.choice(("j", "k")) * 10)
        until(socket, on_queue, "the queue")
        return 10
    if action == "page":
        keys(socket, rng.choice(("PageDown", "PageUp")))
        until(socket, on_queue, "the queue")
        return 1
    if action == "search":
        keys(socket, "/")
        until(socket, search_open, "the search line")
        keys(socket, "C-u", rng.choice(SEARCHES), "Enter")
        until(socket, on_queue, "the queue, searched")
        return 3
    opens, shows = {"ticket": ("Enter", "Description"), "dashboard": ("d", "By status")}[action]
    keys(socket, opens)
    until(socket, lambda text: shows in text or "No tickets" in text or "no tickets" in text, action)
    keys(socket, "Escape")
    until(socket, on_queue, "the queue")
    return 2


ACTIONS = (("move", 0.70), ("page", 0.15), ("search", 0.07), ("ticket", 0.05), ("dashboard", 0.03))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default: {DEFAULT_DB})")
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--keys-per-hour", type=int, default=1800, help="about one key every 2 s")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    exe = Path(sys.executable).with_name("ticketdesk")
    socket = f"tdmem-{os.getpid()}"
    command = f"TICKETDESK_DB={shlex.quote(args.db)} TICKETDESK_WARM=0 exec {shlex.quote(str(exe))} --as {LOGIN}"
    tmux(socket, "new", "-d", "-s", PANE, "-x", "120", "-y", "40", command)
    rng = random.Random(args.seed)
    names, weights = zip(*ACTIONS, strict=True)
    try:
        pid = int(tmux(socket, "display", "-p", "-t", PANE, "#{pane_pid}").strip())
        until(socket, on_queue, "the queue", limit=60)
        samples = [(0.0, rss_mb(pid))]
        for action in names:  # the first minute: each thing once
            act(socket, rng, action)
        samples.append((1 / 60, rss_mb(pid)))
        print(f"started {samples[0][1]:.1f} MB, after the first minute {samples[1][1]:.1f} MB", flush=True)
        for n in range(1, int(args.hours * 2) + 1):
            sent = 0
            while sent < args.keys_per_hour // 2:
                sent += act(socket, rng, rng.choices(names, weights)[0])
            samples.append((n / 2, rss_mb(pid)))
            print(f"after {n / 2:.1f} h: {samples[-1][1]:.1f} MB", flush=True)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    base = samples[1][1]
    peak = max(mb for _, mb in samples[1:])
    print("\n| simulated time | resident memory |\n|---|---|")
    for hours, mb in samples:
        print(f"| {hours * 60:.0f} min | {mb:.1f} MB |" if hours < 1 else f"| {hours:.1f} h | {mb:.1f} MB |")
    print(f"\nlargest growth over the size after the first minute: {peak - base:+.1f} MB (budget: within 25 MB)")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} has no VmRSS")


if __name__ == "__main__":
    main()
