"""Start-up, measured from outside: whole `ticketdesk` processes and the TUI's first painted
page, each next to a raw baseline timed in the same run.

    python bench/start.py [--db URL] [--runs 7]

The database must exist and hold tickets (bench/store.py or `ticketdesk demo` builds one) and
an agent `bench`. Figures are medians (and the slowest run) in ms:

- `ticketdesk list --limit 50`, `ticketdesk show NUMBER`, `ticketdesk update NUMBER
  --priority`, `ticketdesk update` of 1,000 tickets: the console script run to exit, output
  to a pipe, twice: warm (the command server of launch.py running, as after a user's first
  command) and cold (TICKETDESK_WARM=0: the whole import in the process). Raw: the same
  page / ticket read, or the same rows updated, by the `sqlite3` command-line tool (a
  process too), or by `psql` on PostgreSQL.
- TUI start: the console script in a tmux pane (bench/tui.py's `time_start`) until a ticket
  number is painted. Raw: `python -c "import textual.app, sqlmodel"` plus the raw first page.
- Python itself: `python -c pass`, and `python -c "import sqlmodel"` (the floor of any
  command that opens the store).

Issue budgets (1M tickets): TUI start <= 800 ms, `list` <= 500 ms (issue 13), <= 400 ms
for list/show (issue 16).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store import LOGIN, PAGE_COLUMNS, PAGE_JOINS
from bench.tui import load, time_start

DEFAULT_DB = "sqlite:////tmp/bench/bench-store.db"
FIRST_PAGE = (
    f"SELECT {PAGE_COLUMNS} FROM ticket t {PAGE_JOINS} ORDER BY t.priority, t.updated_at DESC, t.id DESC LIMIT 50"
)


def run_ms(argv: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall-clock of `argv` run to exit, `runs` times after one warm-up run."""
    samples = []
    for i in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
        if i:
            samples.append(elapsed)
    return samples


def run_each_ms(argvs: Iterator[list[str]], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """As `run_ms`, a new argv each run (from `argvs`)."""
    _one(next(argvs), env)  # warm-up
    return [_one(next(argvs), env) for _ in range(runs)]


def _one(argv: list[str], env: dict[str, str] | None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:6])} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def raw_argv(url: str, sql: str) -> list[str]:
    if url.startswith("sqlite"):
        return ["sqlite3", url.split(":///", 1)[1], sql]
    psql_url = url.replace("postgresql+psycopg://", "postgresql://")
    return ["psql", "-X", "-q", "-A", "-t", psql_url, "-c", sql]


def warm_up(exe: str, env: dict[str, str]) -> None:
    """Start the command server (a first command does) and wait until it answers."""
    from ticketdesk.launch import socket_path

    subprocess.run([exe, "list", "--limit", "1"], capture_output=True, env=env, check=True)
    path = socket_path()
    deadline = time.monotonic() + 30
    while path is not None and not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if path is None or not path.exists():
        sys.exit("the command server did not start (no private socket directory?)")


def toggling(argv_of: Callable[[str], list[str]]) -> Iterator[list[str]]:
    """Each run changes something: the priority goes P2, P3, P2, ..."""
    while True:
        for priority in ("P2", "P3"):
            yield argv_of(priority)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default: {DEFAULT_DB})")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    exe = str(Path(sys.executable).with_name("ticketdesk"))
    if not Path(exe).exists():
        exe = shutil.which("ticketdesk") or "ticketdesk"
    env = {**os.environ, "TICKETDESK_DB": args.db, "TICKETDESK_AGENT": LOGIN, "TICKETDESK_WARM": "1"}
    cold = {**env, "TICKETDESK_WARM": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its bytecode cached
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "ticketdesk")],
                   check=True, env=env)  # fmt: skip
    print(f"database: {args.db}; {load()}", flush=True)

    first = subprocess.run([exe, "list", "--limit", "1", "--format", "csv"], capture_output=True, text=True, env=cold)
    number = first.stdout.splitlines()[1].split(",")[0]
    one_ticket = f"SELECT {PAGE_COLUMNS} FROM ticket t {PAGE_JOINS} WHERE t.number = '{number}'"
    batch = subprocess.run([exe, "list", "-q", "status:closed", "--limit", "1000", "--format", "csv"],
                           capture_output=True, text=True, env=cold, check=True).stdout.splitlines()[1:]  # fmt: skip
    batch = [line.split(",")[0] for line in batch]
    numbers_sql = ", ".join(f"'{n}'" for n in batch)

    def raw_update(where: str) -> Iterator[list[str]]:
        """The same change by hand, in one transaction: the rows, their version and updated
        time, and an event per ticket (what the app writes besides: the undo entry, the SLA
        recompute of open tickets)."""

        def sql(p: str) -> str:
            now = "CURRENT_TIMESTAMP" if args.db.startswith("postgresql") else "datetime('now')"
            return (
                f"BEGIN; UPDATE ticket SET priority = '{p}', version = version + 1, updated_at = {now}"
                f" WHERE number IN ({where}); INSERT INTO event (ticket_id, actor_id, at, kind, field, old, new,"
                f" ticket_version) SELECT id, NULL, {now}, 'changed', 'priority', NULL, '{p}', version FROM ticket"
                f" WHERE number IN ({where}); COMMIT;"
            )

        return toggling(lambda p: raw_argv(args.db, sql(p)))

    def update(numbers: list[str]) -> Callable[[str], list[str]]:
        return lambda p: [exe, "update", *numbers, "--priority", p]

    warm_up(exe, env)
    rows = [
        ("python -c pass", run_ms([sys.executable, "-c", "pass"], args.runs, env), None),
        ("python -c 'import sqlmodel'", run_ms([sys.executable, "-c", "import sqlmodel"], args.runs, env), None),
        ("ticketdesk --help", run_ms([exe, "--help"], args.runs, env), None),
    ]
    for name, argvs, raw in (
        ("ticketdesk list --limit 50", lambda: iter(lambda: [exe, "list", "--limit", "50"], None),
         lambda: iter(lambda: raw_argv(args.db, FIRST_PAGE), None)),
        (f"ticketdesk show {number}", lambda: iter(lambda: [exe, "show", number], None),
         lambda: iter(lambda: raw_argv(args.db, one_ticket), None)),
        (f"ticketdesk update {number} --priority", lambda: toggling(update([number])),
         lambda: raw_update(f"'{number}'")),
        (f"ticketdesk update of {len(batch):,} tickets", lambda: toggling(update(batch)),
         lambda: raw_update(numbers_sql)),
    ):  # fmt: skip
        rows.append((f"{name}, warm", run_each_ms(argvs(), args.runs, env), run_each_ms(raw(), args.runs)))
        rows.append((f"{name}, cold", run_each_ms(argvs(), args.runs, cold), None))
    print("TUI start (tmux 120x40) ...", flush=True)
    tui = time_start(args.db, args.runs)
    tui_cold = time_start(args.db, args.runs, warm=False)
    textual_and_sqlmodel = run_ms([sys.executable, "-c", "import textual.app, sqlmodel"], args.runs, env)
    page = run_ms(raw_argv(args.db, FIRST_PAGE), args.runs)
    rows.append(("TUI start -> first ticket number painted, warm", tui,
                 [a + b for a, b in zip(textual_and_sqlmodel, page, strict=True)]))  # fmt: skip
    rows.append(("TUI start -> first ticket number painted, cold", tui_cold, None))

    print("\n| what (whole process) | app median (max) ms | raw median ms | raw is |\n|---|---|---|---|")
    for name, samples, raw in rows:
        raw_text = f"{statistics.median(raw):.0f}" if raw else ""
        what = ""
        if raw is not None:
            what = (
                "import textual.app+sqlmodel, + first page"
                if name.startswith("TUI")
                else "same rows, sqlite3/psql process"
            )
        print(f"| {name} | {statistics.median(samples):.0f} ({max(samples):.0f}) | {raw_text} | {what} |")


if __name__ == "__main__":
    main()
