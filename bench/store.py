"""Store benchmark: the app's time for each queue operation next to a raw-SQL baseline.

    python bench/store.py [--db URL] [--tickets 1000000] [--repeat 15] [--only TEXT]

Generates the tickets with the demo generator (reusing the database if it already holds
at least that many), then times each operation through the store and as hand-written SQL
on the same connection pool, in the same run. Figures are medians (and p95) in ms.
`--only batch` (any part of an operation's name) times just the matching operations.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from ticketdesk.models.enums import Priority, Status
from ticketdesk.rules import cjk_bigrams
from ticketdesk.rules.query import TicketFilter, parse_sort
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.db.engine import upgrade_schema

LOGIN = "bench"

PAGE_COLUMNS = """
    t.id, t.number, t.subject, t.status, t.priority, t.type, t.channel, tm.key, a.login, c.name, c.email,
    t.created_at, t.updated_at, t.first_response_due, t.resolution_due, t.first_responded_at, t.resolved_at, t.version
"""
PAGE_JOINS = """
    LEFT JOIN team tm ON tm.id = t.team_id LEFT JOIN agent a ON a.id = t.assignee_id
    LEFT JOIN customer c ON c.id = t.customer_id
"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm caches and the connection pool
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples), p95


def ensure_data(store: Store, tickets: int) -> int:
    from ticketdesk.store.db.seed import seed_defaults

    upgrade_schema(store.db)
    with store.db.write() as session:
        seed_defaults(session, admin_login=LOGIN)
    with store.db.engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM ticket")).scalar_one()
        known = conn.execute(text("SELECT 1 FROM agent WHERE login = :l"), {"l": LOGIN}).first()
    if not known:
        store.people.add(LOGIN, role="admin", team="support")
    if have < tickets:
        started = time.perf_counter()
        store.generate_demo(tickets=tickets - have, seed=have + 1)
        print(f"generated {tickets - have:,} tickets in {time.perf_counter() - started:.1f} s", flush=True)
    return max(have, tickets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite:///bench-store.db", help="SQLAlchemy URL (default: ./bench-store.db)")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="time only the operations whose name contains this")
    args = parser.parse_args()

    store = Store.open(args.db, login=LOGIN, check=False)
    total = ensure_data(store, args.tickets)
    db = store.db
    sqlite = db.is_sqlite
    print(f"database: {db.dialect}, {total:,} tickets, repeat {args.repeat}\n", flush=True)

    with db.engine.connect() as conn:
        team_id, team_key = conn.execute(
            text("SELECT t.id, t.key FROM team t JOIN ticket k ON k.team_id = t.id GROUP BY t.id, t.key"
                 " ORDER BY count(*) DESC LIMIT 1")
        ).one()  # fmt: skip
    flt = TicketFilter(statuses=(Status.OPEN,), teams=(team_key,))
    sort = parse_sort("priority")
    first = store.tickets.page(flt, sort=sort, limit=50)
    if first.next_after is None:
        sys.exit("not enough open tickets in the busiest team to page; use more --tickets")
    deep_cursor = _deep_cursor(db, team_id)

    def raw(sql: str, params: dict[str, Any]) -> Callable[[], Any]:
        def run() -> Any:
            with db.engine.connect() as conn:
                return conn.execute(text(sql), params).all()

        return run

    page_sql = (
        f"SELECT {PAGE_COLUMNS} FROM ticket t {PAGE_JOINS} WHERE t.id IN ("
        " SELECT id FROM ticket WHERE status = 'open' AND team_id = :team {after}"
        " ORDER BY priority, updated_at DESC, id DESC LIMIT 50)"
        " ORDER BY t.priority, t.updated_at DESC, t.id DESC"
    )
    after_sql = "AND (priority > :p OR (priority = :p AND (updated_at, id) < (:u, :i)))"

    def cursor_params(cursor: tuple[Any, ...]) -> dict[str, Any]:
        p, u, i = cursor
        if sqlite:
            u = u.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return {"team": team_id, "p": p, "u": u, "i": i}

    search_term = "打印机"
    if sqlite:
        search_raw = (
            "SELECT id, number, subject FROM ticket WHERE id IN"
            " (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :q) ORDER BY priority, updated_at DESC, id DESC LIMIT 50"
        )
        search_params: dict[str, Any] = {"q": f'"{search_term}"'}
    else:
        search_raw = (
            "SELECT id, number, subject FROM ticket WHERE (subject || ' ' || description) ILIKE :q"
            " ORDER BY priority, updated_at DESC, id DESC LIMIT 50"
        )
        search_params = {"q": f"%{search_term}%"}

    # a two-character word: the bigram indexes (migration 0013), the hand-written lookup
    pair = "打印"
    if sqlite:
        pair_raw = search_raw.replace("ticket_fts", "ticket_bigram")
        pair_params: dict[str, Any] = {"q": f'"{cjk_bigrams.token(pair)}"'}
    else:
        pair_raw = search_raw.replace(
            "(subject || ' ' || description) ILIKE :q",
            "ticketdesk_bigrams(subject || ' ' || description) @> ARRAY[CAST(:q AS text)]",
        )
        pair_params = {"q": pair}

    counts_sql = "SELECT team_id, status, priority, count(*) FROM ticket GROUP BY team_id, status, priority"

    results: list[tuple[str, tuple[float, float], tuple[float, float]]] = []

    def measure(name: str, app_fn: Callable[[], Any], raw_fn: Callable[[], Any], repeat: int = args.repeat) -> None:
        if args.only.lower() not in name.lower():
            return
        app_t = timed(app_fn, repeat)
        raw_t = timed(raw_fn, repeat)
        results.append((name, app_t, raw_t))
        print(f"  {name:<42} app {app_t[0]:9.2f} ms   raw {raw_t[0]:9.2f} ms   x{app_t[0] / max(raw_t[0], 1e-6):5.1f}",
              flush=True)  # fmt: skip

    measure(
        "first queue page (open, team, prio+updated)",
        lambda: store.tickets.page(flt, sort=sort, limit=50),
        raw(page_sql.format(after=""), {"team": team_id}),
    )
    measure(
        "next page",
        lambda: store.tickets.page(flt, sort=sort, after=first.next_after, limit=50),
        raw(page_sql.format(after=after_sql), cursor_params(first.next_after)),
    )
    measure(
        "page deep in the list",
        lambda: store.tickets.page(flt, sort=sort, after=deep_cursor, limit=50),
        raw(page_sql.format(after=after_sql), cursor_params(deep_cursor)),
    )
    measure(
        f"full-text search {search_term!r} (first 50)",
        lambda: store.tickets.page(TicketFilter(search=search_term), sort=sort, limit=50),
        raw(search_raw, search_params),
    )
    measure(
        f"two-character search {pair!r} (first 50)",
        lambda: store.tickets.page(TicketFilter(search=pair), sort=sort, limit=50),
        raw(pair_raw, pair_params),
    )
    measure(
        "full-text search 'printer' (first 50)",
        lambda: store.tickets.page(TicketFilter(search="printer"), sort=sort, limit=50),
        raw(search_raw, {"q": '"printer"'} if sqlite else {"q": "%printer%"}),
    )
    measure(
        "dashboard counts status x priority x team",
        store.tickets.counts_by_status_priority_team,
        raw(counts_sql, {}),
        5,
    )

    batch = _batch_numbers(db, 1000)
    flip = iter(range(10**6))

    def app_batch() -> None:
        prio = [Priority.P1, Priority.P2][next(flip) % 2]
        store_bench = Store(db, login=LOGIN)
        store_bench.tickets.update(batch, TicketChanges(priority=prio.value, note="bench batch"))

    def raw_batch() -> None:
        prio = ["P1", "P2"][next(flip) % 2]
        now = datetime.now(UTC)
        at = now.replace(tzinfo=None).isoformat(sep=" ") if sqlite else now
        with db.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM ticket WHERE number IN :n").bindparams(
                _expanding("n")), {"n": batch})]  # fmt: skip
            conn.execute(
                text("UPDATE ticket SET priority = :p, updated_at = :at, version = version + 1 WHERE id = :id"),
                [{"p": prio, "at": at, "id": i} for i in ids],
            )
            conn.execute(
                text("INSERT INTO comment (ticket_id, kind, body, created_at) VALUES (:id, 'internal', 'raw', :at)"),
                [{"id": i, "at": at} for i in ids],
            )
            conn.execute(
                text(
                    "INSERT INTO event (ticket_id, at, kind, field, old, new) VALUES (:id, :at, 'changed', 'priority', 'x', :p)"
                ),
                [{"id": i, "at": at, "p": prio} for i in ids] * 2,
            )

    measure("batch update 1,000 tickets + events", app_batch, raw_batch, 5)

    def app_update_one() -> None:
        prio = [Priority.P1, Priority.P2][next(flip) % 2]
        Store(db, login=LOGIN).tickets.update(batch[:1], TicketChanges(priority=prio.value))

    def raw_update_one() -> None:
        prio = ["P1", "P2"][next(flip) % 2]
        now = datetime.now(UTC)
        at = now.replace(tzinfo=None).isoformat(sep=" ") if sqlite else now
        with db.engine.begin() as conn:
            tid = conn.execute(text("SELECT id FROM ticket WHERE number = :n"), {"n": batch[0]}).scalar()
            conn.execute(
                text("UPDATE ticket SET priority = :p, updated_at = :at, version = version + 1 WHERE id = :id"),
                {"p": prio, "at": at, "id": tid},
            )
            conn.execute(
                text("INSERT INTO event (ticket_id, at, kind, field, old, new) VALUES (:id, :at, 'changed', 'priority', 'x', :p)"),
                {"id": tid, "at": at, "p": prio},
            )  # fmt: skip

    measure("update one ticket + events", app_update_one, raw_update_one)

    def app_create() -> None:
        Store(db, login=LOGIN).tickets.create(NewTicket(subject="Bench ticket", customer="bench@example.com"))

    def raw_create() -> None:
        now = datetime.now(UTC)
        at = now.replace(tzinfo=None).isoformat(sep=" ") if sqlite else now
        period = f"{now:%Y%m}"
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE ticket_counter SET last_serial = last_serial + 1 WHERE period = :p"), {"p": period}
            )
            serial = conn.execute(
                text("SELECT last_serial FROM ticket_counter WHERE period = :p"), {"p": period}
            ).scalar()
            tid = conn.execute(
                text("INSERT INTO ticket (number, subject, description, type, priority, status, channel, support_level,"
                     " reopen_count, created_at, updated_at, version) VALUES (:n, 'Raw', '', 'incident', 'P2', 'new',"
                     " 'phone', 'L1', 0, :at, :at, 1) RETURNING id"),
                {"n": f"R{period}{serial:06d}", "at": at},
            ).scalar()  # fmt: skip
            conn.execute(
                text("INSERT INTO event (ticket_id, at, kind, field, new) VALUES (:id, :at, 'created', 'number', 'x')"),
                {"id": tid, "at": at},
            )

    measure("create one ticket", app_create, raw_create)

    print("\n| operation | app median (p95) ms | raw SQL median ms | ratio |\n|---|---|---|---|")
    for name, (app_med, app_p95), (raw_med, _) in results:
        print(f"| {name} | {app_med:.2f} ({app_p95:.2f}) | {raw_med:.2f} | {app_med / max(raw_med, 1e-6):.1f}x |")
    store.close()


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def _deep_cursor(db: Any, team_id: int) -> tuple[Any, ...]:
    """A cursor about half-way down the open queue of the team (found once, with OFFSET:
    the timed queries never use it)."""
    with db.engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM ticket WHERE status = 'open' AND team_id = :t"), {"t": team_id}
        ).scalar()
        row = conn.execute(
            text("SELECT priority, updated_at, id FROM ticket WHERE status = 'open' AND team_id = :t"
                 " ORDER BY priority, updated_at DESC, id DESC LIMIT 1 OFFSET :o"),
            {"t": team_id, "o": max(n // 2, 0)},
        ).one()  # fmt: skip
    p, u, i = row
    if isinstance(u, str):
        u = datetime.fromisoformat(u).replace(tzinfo=UTC)
    return (p, u, i)


def _batch_numbers(db: Any, n: int) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT number FROM ticket WHERE status IN ('open', 'in_progress') ORDER BY id DESC LIMIT :n"),
                {"n": n},
            ).scalars()
        )


if __name__ == "__main__":
    main()
