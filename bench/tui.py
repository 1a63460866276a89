"""TUI benchmark: the real app on a big database, each figure next to a raw-SQL baseline.

    python bench/tui.py [--db URL] [--tickets 1000000] [--starts 5] [--keys 10000]

Generates tickets with bench/store.py's `ensure_data` only if the database holds fewer than
`--tickets`. Then, in one run:

1. start: spawns the `ticketdesk` console script in a private tmux server (120x40) and polls
   `tmux capture-pane` every ~10 ms until a ticket number is on screen. Baseline: the time
   `python -c "import textual.app, sqlmodel"` takes plus the raw count and first page of the
   queue (the least any Python TUI over this data can do).
2. keypress -> repaint, in-process with `App.run_test(size=(120, 40))`. The key is posted to
   the headless driver as `Pilot.press` does, but without the idle-waits `Pilot.press` adds
   (two `wait_for_idle`, >= 40 ms, which would swamp the figure). The clock stops at the first
   screen update the app composes after it (the headless driver drops the bytes, but the
   compositor renders every changed line) with the cursor where the key puts it and no
   visible row still "loading". Baseline: the raw 50-row keyset page at the depth reached.
3. filter / search: Enter in the filter bar -> first page painted (the app counts, then
   pages). Baseline: raw count plus the same first page.
4. dashboard: `d` -> painted, `R` -> repainted, and `Store.reports.dashboard()` alone. Baseline:
   the raw GROUP BY counts behind the panels.
5. memory: RSS of this process (app in-process) before and after `--keys` keypresses
   (j/k/pagedown/pageup/g/G at random), each waited for until handled and, if it exposed
   rows still loading, until they are painted.

Times in ms: median (p95); raw baselines are medians of `timed` from bench/store.py.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from textual import events
from textual.widgets import Input

from bench.store import LOGIN, PAGE_COLUMNS, PAGE_JOINS, ensure_data, timed
from ticketdesk.app import TicketdeskApp
from ticketdesk.rules import cjk_bigrams
from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.store import Store
from ticketdesk.store.reports.dashboard import DONE_STATUSES, OPEN_STATUSES

DEFAULT_DB = "sqlite:////tmp/bench/bench-store.db"
SIZE = (120, 40)
NUMBER_ON_SCREEN = re.compile(r"\b20\d{7,}\b")
DEFAULT_QUERY = "status:" + ",".join(OPEN_STATUSES)
ORDER = "priority, updated_at DESC, id DESC"
ORDER_REVERSED = "priority DESC, updated_at, id"
AFTER_STEPS = (" AND priority = :p AND (updated_at, id) < (:u, :i)", " AND priority > :p")
FILTER = "status:open prio:P1 team:support"
COMMON_WORD = "printer"
#: a two-character Chinese word, served by the bigram indexes (migration 0013)
CHINESE_PAIR = "打印"
TIMEOUT = 60.0
POLL_S = 0.001

Row = tuple[str, list[float], float, str]  # name, app samples (ms), raw median (ms), note


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def samples_of(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up, as `timed` does
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def load() -> str:
    return f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- 1. process start in tmux ---------------------------------------------------------------


def time_start(url: str, runs: int, *, warm: bool = True) -> list[float]:
    """Console script in tmux until a ticket number is painted; `warm`: by the command server
    (launch.py) if one runs, else the whole start in its own process."""
    exe = Path(sys.executable).with_name("ticketdesk")
    if not exe.exists():
        exe = Path(shutil.which("ticketdesk") or "ticketdesk")
    socket = f"tdbench-{os.getpid()}-{int(warm)}"  # its own server: a killed one may still be going
    command = f"TICKETDESK_DB={shlex.quote(url)} TICKETDESK_WARM={int(warm)} exec {shlex.quote(str(exe))} --as {LOGIN}"
    samples = []
    # a session that outlives the runs: without it the server exits with each run's session
    # and the next `new` can race its shutdown
    subprocess.run(["tmux", "-L", socket, "new", "-d", "-s", "keep", "sleep 3600"], check=True)
    try:
        for run in range(runs):
            name = f"start{run}"
            started = time.perf_counter()
            subprocess.run(["tmux", "-L", socket, "new", "-d", "-s", name, "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                            command], check=True)  # fmt: skip
            while True:
                pane = subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", name],
                                      capture_output=True, text=True).stdout  # fmt: skip
                if NUMBER_ON_SCREEN.search(pane):
                    samples.append((time.perf_counter() - started) * 1000)
                    break
                if time.perf_counter() - started > TIMEOUT:
                    sys.exit(f"no ticket row on screen after {TIMEOUT:.0f} s; the pane shows:\n{pane}")
                time.sleep(0.01)
            subprocess.run(["tmux", "-L", socket, "kill-session", "-t", name], check=False)
            print(f"  start run {run + 1}: {samples[-1]:.0f} ms", flush=True)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False, capture_output=True)
    return samples


def time_imports(runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual.app, sqlmodel"], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# --- in-process: what the compositor painted ------------------------------------------------


class Paints:
    """Every screen update the app composes, with the state it showed."""

    def __init__(self, app: TicketdeskApp) -> None:
        self.log: list[tuple[float, Any, int, bool, int, float]] = []
        inner = app._display

        def display(screen: Any, update: Any) -> None:
            inner(screen, update)
            if update is not None:
                self.log.append(self._snapshot(screen))

        app._display = display  # type: ignore[method-assign]

    @staticmethod
    def _snapshot(screen: Any) -> tuple[float, Any, int, bool, int, float]:
        now = time.perf_counter()
        if isinstance(screen, QueueScreen):
            t = screen.table
            top = t.view_top
            complete = t.loader is not None and all(
                t.row_at(i) is not None for i in range(top, min(top + t.size.height, t.total))
            )
            return now, screen, t.cursor, complete, t._generation, 0.0
        return now, screen, -1, False, -1, getattr(screen, "_computed_at", 0.0)

    async def wait(self, since: int, ok: Callable[[tuple[float, Any, int, bool, int, float]], bool]) -> float:
        """perf_counter of the first paint from log[since:] that satisfies `ok`."""
        deadline = time.perf_counter() + TIMEOUT
        while True:
            for paint in self.log[since:]:
                if ok(paint):
                    return paint[0]
            since = len(self.log)
            if time.perf_counter() > deadline:
                raise TimeoutError("no matching paint")
            await asyncio.sleep(POLL_S)


def post_key(app: TicketdeskApp, key: str) -> None:
    """What Pilot.press sends, without its idle-waits."""
    assert app._driver is not None
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))


def target(table: Any, key: str) -> int:
    page = max(table.size.height - 1, 1)
    last = max(table.total - 1, 0)
    return {
        "j": min(table.cursor + 1, last), "k": max(table.cursor - 1, 0), "g": 0, "G": last,
        "pagedown": min(table.cursor + page, last), "pageup": max(table.cursor - page, 0),
    }[key]  # fmt: skip


async def press(app: TicketdeskApp, paints: Paints, key: str) -> float:
    """ms from posting `key` to the first paint showing its cursor with every visible row loaded."""
    table = app.screen.table  # type: ignore[attr-defined]
    want = target(table, key)
    since = len(paints.log)
    started = time.perf_counter()
    post_key(app, key)
    painted = await paints.wait(since, lambda p: p[2] == want and p[3])
    return (painted - started) * 1000


async def queue_painted(app: TicketdeskApp, paints: Paints) -> QueueScreen:
    await paints.wait(0, lambda p: isinstance(p[1], QueueScreen) and p[3] and p[1].table.total > 0)
    return app.screen  # type: ignore[return-value]


# --- 2-4. keys, filters, dashboard ----------------------------------------------------------


async def interactive(store: Store, repeat: int, queries: list[str]) -> dict[str, Any]:
    app = TicketdeskApp(store)
    paints = Paints(app)
    out: dict[str, Any] = {"queries": queries}
    async with app.run_test(size=SIZE) as pilot:
        screen = await queue_painted(app, paints)
        table = screen.table
        out["open_total"] = table.total

        keys: dict[str, list[float]] = {}
        for key, times in (("j", 200), ("pagedown", 100), ("pageup", 50)):
            keys[key] = [await press(app, paints, key) for _ in range(times)]
            out[f"depth_{key}"] = table.cursor
        keys["G"], keys["g"] = [], []
        await press(app, paints, "g")
        for _ in range(10):
            keys["G"].append(await press(app, paints, "G"))
            keys["g"].append(await press(app, paints, "g"))
        out["keys"] = keys
        print("  keys done", flush=True)

        field = screen.query_one("#filter", Input)

        async def apply(query: str) -> float:
            field.value = query
            field.focus()
            await pilot.pause()
            generation = table._generation
            since = len(paints.log)
            started = time.perf_counter()
            post_key(app, "enter")
            painted = await paints.wait(since, lambda p: p[4] > generation and p[3])
            assert screen.query_text == query, screen.query_text
            return (painted - started) * 1000

        filters = {}
        for query in out["queries"]:
            await apply(query)  # warm-up, like `timed`
            filters[query] = [await apply(query) for _ in range(repeat)]
            filters[query + " total"] = table.total
            print(
                f"  filter {query!r}: {statistics.median(filters[query]):.0f} ms, {table.total:,} tickets", flush=True
            )
        await apply(DEFAULT_QUERY)
        out["filters"] = filters

        table.focus()
        await pilot.pause()
        since = len(paints.log)
        started = time.perf_counter()
        post_key(app, "d")
        try:
            painted = await paints.wait(since, lambda p: isinstance(p[1], DashboardScreen) and p[5] > 0)
        except TimeoutError:
            shown = app.screen.query_one("#dash-status").render() if isinstance(app.screen, DashboardScreen) else ""
            raise TimeoutError(
                f"dashboard not painted: screen {app.screen!r}, focus {app.focused!r}, {shown}"
            ) from None
        out["dash_open"] = (painted - started) * 1000
        dash = app.screen
        refresh = []
        for _ in range(repeat):
            before = dash._computed_at  # type: ignore[attr-defined]
            since = len(paints.log)
            started = time.perf_counter()
            post_key(app, "R")
            painted = await paints.wait(since, lambda p, b=before: p[1] is dash and p[5] > b)  # type: ignore[misc]
            refresh.append((painted - started) * 1000)
        out["dash_refresh"] = refresh
        await pilot.press("escape")
    return out


async def memory(store: Store, presses: int) -> dict[str, Any]:
    app = TicketdeskApp(store)
    paints = Paints(app)
    rng = random.Random(7)
    # g/G rare enough that the walk between two jumps goes some hundreds of rows deep
    keys, weights = ["j", "k", "pagedown", "pageup", "g", "G"], [30, 15, 35, 19, 0.5, 0.5]
    async with app.run_test(size=SIZE):
        screen = await queue_painted(app, paints)
        table = screen.table
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        for _ in range(presses):
            key = rng.choices(keys, weights)[0]
            want = target(table, key)
            paints.log.clear()  # the probe keeps no history here: its memory would count as the app's
            since = 0
            post_key(app, key)
            deadline = time.perf_counter() + TIMEOUT
            while table.cursor != want:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"key {key} not handled")
                await asyncio.sleep(POLL_S)
            await asyncio.sleep(0)
            if not Paints._snapshot(screen)[3]:
                await paints.wait(since, lambda p, w=want: p[2] == w and p[3])  # type: ignore[misc]
        elapsed = time.perf_counter() - started
        gc.collect()
        after = rss_mb()
        held = [r.number for r in (*table.top.rows, *table.bottom.rows)]
    return {"before": before, "after": after, "seconds": elapsed, "held": len(held), "unique": len(set(held))}


# --- raw SQL baselines ----------------------------------------------------------------------


def open_page_sql(order: str, steps: tuple[str, ...] = ("",)) -> str:
    """The open queue's 50-row page as hand-written SQL: one index range per status (and per
    keyset step), merged, then the columns joined for those 50 ids."""
    parts = [
        f"SELECT * FROM (SELECT priority, updated_at, id FROM ticket WHERE status = '{status}'{step}"
        f" ORDER BY {order} LIMIT 50) AS b{n}"
        for n, (status, step) in enumerate((s, st) for s in OPEN_STATUSES for st in steps)
    ]
    t_order = ", ".join(f"t.{part.strip()}" for part in order.split(","))
    return (
        f"SELECT {PAGE_COLUMNS} FROM ticket t {PAGE_JOINS} WHERE t.id IN"
        f" (SELECT id FROM ({' UNION ALL '.join(parts)}) AS u ORDER BY {order} LIMIT 50) ORDER BY {t_order}"
    )


def where_page_sql(where: str) -> str:
    return (
        f"SELECT {PAGE_COLUMNS} FROM ticket t {PAGE_JOINS} WHERE t.id IN"
        f" (SELECT id FROM ticket WHERE {where} ORDER BY {ORDER} LIMIT 50)"
        " ORDER BY t.priority, t.updated_at DESC, t.id DESC"
    )


def pair_where(sqlite: bool) -> str:
    """A two-character Chinese word in the same places, through the bigram indexes."""
    if sqlite:
        return search_where(True).replace("_fts", "_bigram")
    return (
        "id IN (SELECT id FROM ticket WHERE ticketdesk_bigrams(subject || ' ' || description) @> ARRAY[CAST(:q AS text)]"
        " UNION SELECT ticket_id FROM comment WHERE ticketdesk_bigrams(body) @> ARRAY[CAST(:q AS text)]"
        " UNION SELECT id FROM ticket WHERE customer_id IN (SELECT id FROM customer"
        " WHERE ticketdesk_bigrams(name || ' ' || coalesce(email, '')) @> ARRAY[CAST(:q AS text)]))"
    )


def search_where(sqlite: bool) -> str:
    """Same places as the app: the ticket text, its comments, its customer."""
    if sqlite:
        return (
            "(id IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :q)"
            " OR id IN (SELECT ticket_id FROM comment WHERE id IN (SELECT rowid FROM comment_fts WHERE comment_fts MATCH :q))"
            " OR customer_id IN (SELECT rowid FROM customer_fts WHERE customer_fts MATCH :q))"
        )
    # the set of matches from each trigram index, as one would write it by hand (an OR of
    # the three keeps PostgreSQL from using the indexes: a rare word took 4 s at 1M)
    return (
        "id IN (SELECT id FROM ticket WHERE (subject || ' ' || description) ILIKE :q"
        " UNION SELECT ticket_id FROM comment WHERE body ILIKE :q"
        " UNION SELECT id FROM ticket WHERE customer_id IN"
        " (SELECT id FROM customer WHERE (name || ' ' || coalesce(email, '')) ILIKE :q))"
    )


def rare_word(db: Any) -> str:
    """An invoice number from some ticket (the demo writes them): a term with a handful of hits."""
    sql = (
        "SELECT description FROM ticket WHERE id IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH '\"INV-\"' LIMIT 1)"
        if db.is_sqlite else "SELECT description FROM ticket WHERE description LIKE '%INV-%' LIMIT 1"
    )  # fmt: skip
    with db.engine.connect() as conn:
        found = conn.execute(text(sql)).scalar()
    match = re.search(r"INV-\d{4}-\d+", found or "")
    return match.group(0) if match else "Kyocera"


def raw_baselines(store: Store, depths: dict[str, int], rare: str, repeat: int) -> dict[str, float]:
    db = store.db
    sqlite = db.is_sqlite
    open_in = ", ".join(f"'{s}'" for s in OPEN_STATUSES)

    def run(*statements: tuple[str, dict[str, Any]]) -> Callable[[], Any]:
        def go() -> None:
            with db.engine.connect() as conn:
                for sql, params in statements:
                    conn.execute(text(sql), params).all()

        return go

    def med(*statements: tuple[str, dict[str, Any]]) -> float:
        return timed(run(*statements), repeat)[0]

    def cursor_at(depth: int) -> dict[str, Any]:
        with db.engine.connect() as conn:
            p, u, i = conn.execute(
                text(f"SELECT priority, updated_at, id FROM ticket WHERE status IN ({open_in}) ORDER BY {ORDER}"
                     " LIMIT 1 OFFSET :o"), {"o": max(depth - 1, 0)},
            ).one()  # fmt: skip
        return {"p": p, "u": u, "i": i}

    with db.engine.connect() as conn:
        team = conn.execute(text("SELECT id FROM team WHERE key = 'support'")).scalar()

    first = open_page_sql(ORDER)
    count_open = f"SELECT count(*) FROM ticket WHERE status IN ({open_in})"
    raw: dict[str, float] = {}
    raw["first page"] = med((count_open, {}), (first, {}))
    raw["g"] = med((first, {}))
    raw["G"] = med((open_page_sql(ORDER_REVERSED), {}))
    for key in ("j", "pagedown", "pageup"):
        raw[key] = med((open_page_sql(ORDER, AFTER_STEPS), cursor_at(depths[key])))

    def count_and_page(where: str, params: dict[str, Any]) -> float:
        return med((f"SELECT count(*) FROM ticket WHERE {where}", params), (where_page_sql(where), params))

    words = search_where(sqlite)
    q = (lambda w: {"q": f'"{w}"'}) if sqlite else (lambda w: {"q": f"%{w}%"})
    raw[FILTER] = count_and_page("status = 'open' AND priority = 'P1' AND team_id = :team", {"team": team})
    raw[rare] = count_and_page(words, q(rare))
    raw[COMMON_WORD] = count_and_page(words, q(COMMON_WORD))
    raw[f"{DEFAULT_QUERY} {COMMON_WORD}"] = count_and_page(f"status IN ({open_in}) AND {words}", q(COMMON_WORD))
    pair = {"q": f'"{cjk_bigrams.token(CHINESE_PAIR)}"'} if sqlite else {"q": CHINESE_PAIR}
    raw[f"{DEFAULT_QUERY} {CHINESE_PAIR}"] = count_and_page(f"status IN ({open_in}) AND {pair_where(sqlite)}", pair)

    done_in = ", ".join(f"'{s}'" for s in DONE_STATUSES)
    raw["dashboard"] = med(
        (f"SELECT status, priority, team_id, assignee_id, count(*) FROM ticket WHERE status IN ({open_in})"
         " GROUP BY status, priority, team_id, assignee_id", {}),
        (f"SELECT status, count(*) FROM ticket WHERE status IN ({done_in}) GROUP BY status", {}),
    )  # fmt: skip
    return raw


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default: {DEFAULT_DB})")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--starts", type=int, default=5, help="process starts to time")
    parser.add_argument("--repeat", type=int, default=5, help="filter / dashboard / raw repetitions")
    parser.add_argument("--keys", type=int, default=10_000, help="keypresses for the memory figure")
    args = parser.parse_args()

    store = Store.open(args.db, login=LOGIN, check=False)
    with store.db.engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM ticket")).scalar_one()
    total = ensure_data(store, args.tickets) if have < args.tickets else have
    print(f"database: {store.db.dialect}, {total:,} tickets; {load()}\n", flush=True)

    print("1. process start -> first queue page painted (tmux)", flush=True)
    starts = time_start(args.db, args.starts)
    imports = time_imports(args.starts)

    print("2-4. keys, filters, dashboard (in-process, run_test 120x40)", flush=True)
    rare = rare_word(store.db)
    queries = [FILTER, rare, COMMON_WORD, f"{DEFAULT_QUERY} {COMMON_WORD}"]
    out = asyncio.run(interactive(store, args.repeat, queries))
    dashboard_calls = samples_of(store.reports.dashboard, args.repeat)
    print(f"  Store.reports.dashboard(): {statistics.median(dashboard_calls):.0f} ms", flush=True)

    print("raw SQL baselines", flush=True)
    depths = {k: out[f"depth_{k}"] for k in ("j", "pagedown", "pageup")}
    raw = raw_baselines(store, depths, rare, args.repeat)

    print(f"5. memory over {args.keys:,} keypresses", flush=True)
    mem = asyncio.run(memory(store, args.keys))

    rows: list[Row] = [
        ("process start -> first queue page painted", starts, imports + raw["first page"],
         f"raw = python import textual.app+sqlmodel {imports:.0f} ms + count & first page SQL "
         f"{raw['first page']:.1f} ms; {args.starts} runs"),
    ]  # fmt: skip
    labels = {
        "j": f"j (scroll 1 row), 200x from the top to index {depths['j']:,}",
        "pagedown": f"pagedown, 100x to index {depths['pagedown']:,}",
        "pageup": f"pageup, 50x back to index {depths['pageup']:,}",
        "G": "G (last row), 10x alternating with g",
        "g": "g (first row), 10x alternating with G",
    }
    for key, label in labels.items():
        samples = out["keys"][key]
        note = "raw = one 50-row keyset page at that depth"
        if key == "G":
            note += f"; first (cold) G {samples[0]:.0f} ms"
        rows.append((f"key {label}", samples, raw[key], note))
    for query in out["queries"]:
        rows.append((f"filter/search {query!r} -> first page painted", out["filters"][query], raw[query],
                     f"{out['filters'][query + ' total']:,} matches; raw = count + first 50 rows"))  # fmt: skip
    rows.append(("dashboard d -> painted (first open)", [out["dash_open"]], raw["dashboard"],
                 "raw = GROUP BY status x priority x team x assignee (open) + per finished status"))  # fmt: skip
    rows.append(("dashboard R -> repainted", out["dash_refresh"], raw["dashboard"], "same raw"))
    rows.append(("Store.reports.dashboard() alone", dashboard_calls, raw["dashboard"], "same raw"))

    print("\n| operation | app median (p95) ms | raw SQL median ms | ratio | notes |\n|---|---|---|---|---|")
    for name, samples, raw_ms, note in rows:
        med = statistics.median(samples)
        spread = f" ({pct(samples, 0.95):.1f})" if len(samples) > 1 else ""
        print(f"| {name} | {med:.1f}{spread} | {raw_ms:.1f} | {med / max(raw_ms, 1e-6):.1f}x | {note} |")
    print(
        f"\nmemory (RSS of this process, app in-process): {mem['before']:.0f} MB with the queue open, "
        f"{mem['after']:.0f} MB after {args.keys:,} keypresses (j/k/pagedown/pageup/g/G) in {mem['seconds']:.0f} s: "
        f"growth {mem['after'] - mem['before']:+.0f} MB; the table holds {mem['held']:,} rows "
        f"({mem['unique']:,} distinct tickets) of {out['open_total']:,}"
    )
    print(f"{load()} at the end (other work on the machine inflates every figure, app and raw alike)")
    store.close()


if __name__ == "__main__":
    main()
