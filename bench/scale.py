"""Does the cost grow with the desk? The same operations on demo desks of 100k, 1M (and, if
asked, 10M) tickets, side by side (issue 16, point 2).

    pip install -e '.[bench]'      # matplotlib, for the plot
    python bench/scale.py [--sizes 100000,1000000] [--dir /tmp/bench] [--repeat 5] [--plot docs/scale.svg]
                          [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]

Each desk is built once with `ticketdesk demo` (the demo's own catch-up included), as
`DIR/scale-N.db`, and reused while it exists; the build's tickets/s is reported. A desk
over 1M is built in parts of 1M (`PART`), and a build stopped between parts is carried on. Then, on
each desk, through the Store as the TUI and CLI call it (medians of `--repeat` runs, after a
warm-up run):

- first page: the open queue's first 50 rows (the view ticketdesk opens on);
- deep page: 50 rows from half-way down the open queue (keyset, never OFFSET);
- filtered page: `status:open prio:P1 team:support`;
- rare and common search: count and first page as the queue reads them (count_and_page);
- view counts: the exact count of every built-in view (each view's own count, the slowest);
- dashboard: `Store.reports.dashboard()`;
- batch: `update` of 1,000 tickets (priority P2 <-> P3, one transaction);
- create: one ticket;
- TUI start: the console script in tmux until a ticket number is painted (bench/tui.py).

With `--postgres SERVER_URL`, the same desks are measured on PostgreSQL too: database
`scale_N` on that server, made (once) by `ticketdesk copy --to` from the SQLite desk, then
VACUUM ANALYZE; it is reused while it exists.

Raw baseline, same run: the open queue's first page as hand-written SQL (bench/tui.py).
Flat means within 1.5x from the smallest desk to the largest (pages, create, start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.store import LOGIN, timed
from bench.tui import COMMON_WORD, DEFAULT_QUERY, FILTER, ORDER, open_page_sql, rare_word, time_start
from ticketdesk.rules.query import parse_query
from ticketdesk.rules.views import BUILTIN_VIEWS
from ticketdesk.store import NewTicket, Store, TicketChanges

FLAT = 1.5
#: rows whose cost must not grow with the desk
MUST_BE_FLAT = ("first page", "deep page", "filtered page", "create", "TUI start")


#: A desk bigger than this is built in parts of this size, each `ticketdesk demo`'s one
#: transaction: SQLite's WAL holds a part until its commit, so 10M at once would need twice
#: the desk's ~46 GB of disk. A build stopped between parts carries on from there when the
#: bench runs again (it takes hours at 10M).
PART = 1_000_000


def build(path: Path, tickets: int) -> tuple[Store, float | None]:
    """The desk at `path`, built now (or finished, part by part) if it has fewer than
    `tickets`; (store, tickets/s of what this run built)."""
    url = f"sqlite:///{path}"
    store = Store.open(url, login=LOGIN, check=False)
    store.init()
    with store.db.engine.connect() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM ticket")).scalar_one())
    if have >= tickets:
        return store, None
    print(f"building {tickets:,} tickets in {path} ({have:,} there) ...", flush=True)
    started, had = time.perf_counter(), have
    while have < tickets:
        part = min(PART, tickets - have)
        store.generate_demo(tickets=part, seed=7 + have // PART)  # each part its own texts and numbers
        have += part
        print(f"  {have:,} tickets, {(have - had) / (time.perf_counter() - started):,.0f} tickets/s", flush=True)
    return store, (have - had) / (time.perf_counter() - started)


def measure(store: Store, repeat: int, tui_runs: int) -> dict[str, float]:
    tickets = store.tickets
    open_queue = parse_query(DEFAULT_QUERY)
    rare = rare_word(store.db)
    with store.db.engine.connect() as conn:
        open_total = conn.execute(
            text("SELECT count(*) FROM ticket WHERE status IN ('new','open','in_progress','pending','on_hold')")
        ).scalar_one()
        half = conn.execute(
            text(
                "SELECT number FROM ticket WHERE status IN ('new','open','in_progress','pending','on_hold')"
                f" ORDER BY {ORDER} LIMIT 1 OFFSET :o"
            ),
            {"o": open_total // 2},
        ).scalar_one()
        batch = list(
            conn.execute(text("SELECT number FROM ticket WHERE status = 'open' ORDER BY id DESC LIMIT 1000")).scalars()
        )
    middle = tickets.get(half).row  # the keyset cursor of the default sort: (priority, updated_at, id)
    deep_after = (getattr(middle.priority, "value", middle.priority), middle.updated_at, middle.id)

    def raw_first() -> None:
        with store.db.engine.connect() as conn:
            conn.execute(text(open_page_sql(ORDER))).all()

    flip = {"n": 0}

    def batch_update() -> None:
        flip["n"] += 1
        tickets.update(batch, TicketChanges(priority="P2" if flip["n"] % 2 else "P3"))

    def create() -> None:
        tickets.create(NewTicket(subject="Scale bench: printer on floor 3 offline", team="support"))

    def views() -> None:
        for _, query in BUILTIN_VIEWS:
            tickets.count(parse_query(query))

    ops: dict[str, Callable[[], Any]] = {
        "first page": lambda: tickets.page(open_queue, limit=50),
        "deep page": lambda: tickets.page(open_queue, limit=50, after=deep_after),
        "filtered page": lambda: tickets.page(parse_query(FILTER), limit=50),
        "rare search": lambda: tickets.count_and_page(parse_query(f"{DEFAULT_QUERY} {rare}"), limit=50),
        "common search": lambda: tickets.count_and_page(parse_query(f"{DEFAULT_QUERY} {COMMON_WORD}"), limit=50),
        "view counts": views,
        "dashboard": store.reports.dashboard,
        "batch of 1,000": batch_update,
        "create": create,
        "raw first page": raw_first,
    }
    figures = {}
    for name, fn in ops.items():
        figures[name] = timed(fn, repeat)[0]
        print(f"  {name}: {figures[name]:.1f} ms", flush=True)
    # the first start also starts the command server (a cold start): not counted
    figures["TUI start"] = statistics.median(time_start(store.db.url, tui_runs + 1)[1:])
    return figures


def plot(results: dict[str, dict[int, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for backend, style in zip(results, ("-", "--"), strict=False):
        sizes = sorted(results[backend])
        for i, name in enumerate(results[backend][sizes[0]]):
            ax.plot(sizes, [results[backend][n][name] for n in sizes], style, marker="o", color=f"C{i % 10}",
                    label=name if backend == "SQLite" else None)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tickets in the desk (solid: SQLite; dashed: PostgreSQL)")
    ax.set_ylabel("ms (median)")
    ax.set_title("ticketdesk: cost of each operation by desk size (bench/scale.py)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    print(f"plot: {path}")


def postgres_desk(server: str, sqlite_path: Path, tickets: int) -> Store:
    """The SQLite desk copied to database `scale_N` on `server`, made now if it is not there."""
    import psycopg

    name = f"scale_{tickets}"
    libpq = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{libpq}/postgres", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            print(f"copying {sqlite_path} to PostgreSQL {name} ...", flush=True)
            admin.execute(f"CREATE DATABASE {name}")
            env = {**os.environ, "TICKETDESK_DB": f"sqlite:///{sqlite_path}", "TICKETDESK_AGENT": LOGIN}
            exe = str(Path(sys.executable).with_name("ticketdesk"))
            subprocess.run([exe, "copy", "--to", f"{server}/{name}"], check=True, env=env, stdout=subprocess.DEVNULL)
            with psycopg.connect(f"{libpq}/{name}", autocommit=True) as desk:
                desk.execute("VACUUM ANALYZE")
    return Store.open(f"{server}/{name}", login=LOGIN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated ticket counts")
    parser.add_argument("--dir", default="/tmp/bench", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tui-runs", type=int, default=3)
    parser.add_argument("--plot", type=Path, default=Path("docs/scale.svg"))
    parser.add_argument("--postgres", help="a PostgreSQL server URL (no database): measure there too")
    args = parser.parse_args()

    sizes = sorted(int(s) for s in args.sizes.split(","))
    args.dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, dict[str, float]]] = {"SQLite": {}}
    rates: dict[int, float | None] = {}
    for n in sizes:
        store, rates[n] = build(args.dir / f"scale-{n}.db", n)
        print(f"{n:,} tickets:", flush=True)
        results["SQLite"][n] = measure(store, args.repeat, args.tui_runs)
        store.close()
        if args.postgres:
            store = postgres_desk(args.postgres, args.dir / f"scale-{n}.db", n)
            print(f"{n:,} tickets, PostgreSQL:", flush=True)
            results.setdefault("PostgreSQL", {})[n] = measure(store, args.repeat, args.tui_runs)
            store.close()

    columns = [(backend, n) for backend in results for n in sizes]
    head = " | ".join(f"{backend} {n:,}" for backend, n in columns)
    print(f"\n| operation (ms, median) | {head} | largest / smallest |")
    print("|---|" + "---|" * len(columns) + "---|")
    for name in results["SQLite"][sizes[0]]:
        values = [results[backend][n][name] for backend, n in columns]
        ratios = []
        for backend in results:
            first, last = results[backend][sizes[0]][name], results[backend][sizes[-1]][name]
            ratio = last / max(first, 1e-9)
            verdict = (" ✓ flat" if ratio <= FLAT else " ✗ grows") if name in MUST_BE_FLAT else ""
            ratios.append(f"{ratio:.2f}×{verdict}" if len(results) == 1 else f"{backend} {ratio:.2f}×{verdict}")
        print(f"| {name} | " + " | ".join(f"{v:,.1f}" for v in values) + f" | {'; '.join(ratios)} |")
    built = ", ".join(f"{n:,}: {r:,.0f} tickets/s" for n, r in rates.items() if r is not None)
    if built:
        print(f"\nbuilt this run (`demo`, catch-up included): {built}")
    plot(results, args.plot)


if __name__ == "__main__":
    main()
