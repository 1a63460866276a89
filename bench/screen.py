"""The TUI's speed as the agent sees it: the real `ticketdesk` in a tmux pane, each key timed
from `send-keys` until the pane has changed and then stayed the same (issue 16, point 1).

    python bench/screen.py [--db URL] [--keys 60] [--searches 5]

Measured on the queue of the open tickets (the view ticketdesk opens on), 120x40:

- `j` and `PgDn`: send the key, poll `capture-pane` until the pane differs from before the
  key and then shows no change for 50 ms; the figure is the time of the last change (the
  quiet window is not in it).
- search: `/`, the word, then Enter; timed from Enter, quiet window 200 ms (the count and
  the page come from two queries). A rare word (an invoice number from the data), a
  common one (`printer`) and a two-character Chinese one (`打印`, the bigram indexes).
  Between searches the filter is set back to the open queue.
- dashboard: `d` until painted and quiet (200 ms), then `escape` back.

Baselines from the same run: the tmux floor (a pane running `cat`: a key sent until it is
echoed, polled the same way) and the raw SQL of each step (bench/tui.py's `raw_baselines`:
the keyset page, count + first page of the search, the dashboard's GROUP BYs).
TICKETDESK_WARM=0: the pane's process is the TUI itself.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store import LOGIN
from bench.tui import CHINESE_PAIR, COMMON_WORD, DEFAULT_QUERY, NUMBER_ON_SCREEN, pct, rare_word, raw_baselines
from ticketdesk.store import Store

DEFAULT_DB = "sqlite:////tmp/bench/bench-store.db"
SIZE = (120, 40)
KEY_QUIET = 0.05
LOAD_QUIET = 0.2
TIMEOUT = 30.0


class Pane:
    def __init__(self, server: str, target: str) -> None:
        self.server, self.target = server, target

    def text(self) -> str:
        return subprocess.run(
            ["tmux", "-L", self.server, "capture-pane", "-p", "-t", self.target], capture_output=True, text=True
        ).stdout

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.server, "send-keys", "-t", self.target, *keys], check=True)

    def settled(self, before: str, quiet: float, started: float) -> tuple[float, str]:
        """(ms from `started` to the last change, the pane) once it differs from `before`
        and has not changed for `quiet` seconds."""
        last, changed_at = before, None
        while True:
            now = time.perf_counter()
            shown = self.text()
            if shown != last:
                last, changed_at = shown, time.perf_counter()
            elif changed_at is not None and now - changed_at >= quiet:
                return (changed_at - started) * 1000, last
            if now - started > TIMEOUT:
                sys.exit(f"the pane did not settle within {TIMEOUT:.0f} s; it shows:\n{last}")

    def key(self, key: str, quiet: float = KEY_QUIET) -> tuple[float, str]:
        before = self.text()
        started = time.perf_counter()
        self.send(key)
        return self.settled(before, quiet, started)

    def wait_quiet(self, quiet: float = LOAD_QUIET) -> str:
        before, since = self.text(), time.perf_counter()
        while time.perf_counter() - since < quiet:
            shown = self.text()
            if shown != before:
                before, since = shown, time.perf_counter()
        return before


def floor_ms(server: str, keys: int) -> list[float]:
    subprocess.run(["tmux", "-L", server, "new-window", "-d", "-n", "floor", "cat"], check=True)
    pane = Pane(server, "floor")
    samples = []
    for i in range(keys):
        samples.append(pane.key("xyz"[i % 3])[0])
    return samples


def search(pane: Pane, word: str) -> float:
    pane.send("/")
    pane.wait_quiet(0.1)
    pane.send("-l", word)
    pane.wait_quiet(0.1)
    took, _ = pane.key("Enter", LOAD_QUIET)
    pane.send("f")  # back to the open queue: select the filter's text and replace it
    pane.wait_quiet(0.1)
    pane.send("-l", DEFAULT_QUERY)
    pane.send("Enter")
    pane.wait_quiet()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default: {DEFAULT_DB})")
    parser.add_argument("--keys", type=int, default=60, help="presses of j and of PgDn")
    parser.add_argument("--searches", type=int, default=5, help="runs of each search and of the dashboard")
    args = parser.parse_args()

    store = Store.open(args.db, login=LOGIN)
    rare = rare_word(store.db)
    exe = Path(sys.executable).with_name("ticketdesk")
    if not exe.exists():
        exe = Path(shutil.which("ticketdesk") or "ticketdesk")
    server = f"tdscreen-{os.getpid()}"
    command = (
        f"env -u COLUMNS -u LINES TICKETDESK_DB={shlex.quote(args.db)} TICKETDESK_WARM=0"
        f" {shlex.quote(str(exe))} --as {LOGIN}"
    )
    subprocess.run(
        ["tmux", "-L", server, "new", "-d", "-s", "tui", "-x", str(SIZE[0]), "-y", str(SIZE[1]), command], check=True
    )
    pane = Pane(server, "tui")
    try:
        started = time.perf_counter()
        while not NUMBER_ON_SCREEN.search(pane.text()):
            if time.perf_counter() - started > TIMEOUT:
                sys.exit(f"no ticket row on screen after {TIMEOUT:.0f} s:\n{pane.text()}")
            time.sleep(0.02)
        pane.wait_quiet(1.0)
        app: dict[str, list[float]] = {
            "j": [],
            "PgDn": [],
            rare: [],
            COMMON_WORD: [],
            CHINESE_PAIR: [],
            "dashboard": [],
        }
        depths = {"j": 0, "pagedown": 0, "pageup": 0}
        for _ in range(args.keys):
            app["j"].append(pane.key("j")[0])
        depths["j"] = args.keys
        for _ in range(args.keys):
            app["PgDn"].append(pane.key("PageDown")[0])
        depths["pagedown"] = depths["pageup"] = args.keys * (SIZE[1] - 8)
        pane.send("g")
        pane.wait_quiet()
        for _ in range(args.searches):
            app[rare].append(search(pane, rare))
            app[COMMON_WORD].append(search(pane, COMMON_WORD))
            app[CHINESE_PAIR].append(search(pane, CHINESE_PAIR))
            took, _ = pane.key("d", LOAD_QUIET)
            app["dashboard"].append(took)
            pane.send("Escape")
            pane.wait_quiet()
        floor = floor_ms(server, args.keys)
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], check=False, capture_output=True)

    raw = raw_baselines(store, depths, rare, 5)
    raw_of = {"j": raw["j"], "PgDn": raw["pagedown"], rare: raw[rare], COMMON_WORD: raw[f"{DEFAULT_QUERY} {COMMON_WORD}"],
              CHINESE_PAIR: raw[f"{DEFAULT_QUERY} {CHINESE_PAIR}"], "dashboard": raw["dashboard"]}  # fmt: skip
    floor_p50, floor_p95 = statistics.median(floor), pct(floor, 0.95)
    print(
        f"\n{args.db}: the real TUI in tmux {SIZE[0]}x{SIZE[1]}; tmux floor (cat) {floor_p50:.1f} / {floor_p95:.1f} ms"
    )
    print("| on the open queue | app p50 | app p95 | raw SQL, same run |")
    print("|---|---|---|---|")
    names = {"j": "`j`", "PgDn": "`PgDn`", rare: f"search `{rare}` (rare)", COMMON_WORD: f"search `{COMMON_WORD}` (common)",
             CHINESE_PAIR: f"search `{CHINESE_PAIR}` (two characters)", "dashboard": "`d` dashboard"}  # fmt: skip
    for key, samples in app.items():
        print(
            f"| {names[key]} | {statistics.median(samples):.0f} ms | {pct(samples, 0.95):.0f} ms | {raw_of[key]:.1f} ms |"
        )


if __name__ == "__main__":
    main()
