"""Sweep benchmark: one sweep over a 1,000,000-ticket database, next to a raw-SQL baseline.

    python bench/sweep.py [--db URL] [--tickets 1000000] [--behind-hours 24] [--no-automation]

The sweep WRITES (SLA events, escalations, closes, rule_firing claims): point --db at a
copy, e.g. `cp /tmp/bench/bench-store.db /tmp/bench-sweep/` (or let it generate the demo
data into a new file, which takes a few minutes for 1M tickets).

The demo data is a year of tickets on which no sweep ever ran: tens of thousands of
breaches, stale tickets and resolved tickets to close, a catch-up of hours. A desk runs the
sweep every hour, so the benchmark first brings the database to that state: everything
that was due `--behind-hours` ago is recorded as done by earlier sweeps (its rule_firing
claim, written in bulk, untimed). Then it times:

- the first sweep, which does the work of the last `--behind-hours` hours;
- a second sweep right after, which should find nothing new to do (the hourly steady state);

and, in the same run, the raw-SQL baseline: one hand-written SELECT of the open tickets'
clock columns (what the sweep must read at the least). It counts the SQL statements of
each sweep (a `before_cursor_execute` listener) and checks that no statement reads the
whole ticket table: each SELECT on it has a status condition or an id/number key, each
UPDATE of it an id key, and (SQLite) no query plan scans it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from store import LOGIN, ensure_data  # bench/store.py

from ticketdesk.models import ACTIVE_STATUSES, RuleFiring
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.rules_document import parse_rules_document
from ticketdesk.store import Store
from ticketdesk.store.automation import routing
from ticketdesk.store.automation import sweep as sweep_module
from ticketdesk.store.automation.followups import AutomationsAndMail
from ticketdesk.store.automation.sweep import SweepReport, sweep
from ticketdesk.store.db import settings as settings_store
from ticketdesk.store.sla import clocks as sla
from ticketdesk.store.tickets.lookups import acting_agent

BUDGET_S = 5.0
RULES = {
    "sweep": {
        "close_resolved_after_days": 7,
        "close_pending_after_days": 14,
        "escalate_on_breach": True,
        "escalate_after_hours_without_update": 24,
    },
    "automation": [
        {
            "name": "Unassigned 4h",
            "trigger": "time",
            "conditions": [
                {"field": "assignee", "op": "is_empty"},
                {"field": "hours_since_created", "op": "gte", "value": 4},
            ],
            "actions": [{"action": "add_tag", "tag": "needs-owner"}],
        }
    ],
}
OPEN_SQL = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE_STATUSES))
CLOCK_SQL = (
    "SELECT id, number, version, status, team_id, updated_at, status_changed_at, first_response_due,"
    " first_responded_at, resolution_due, resolved_at, sla_paused_at, last_customer_reply_at"
    f" FROM ticket WHERE status IN ({OPEN_SQL})"
)
#: tables too big to read without a key; the condition that keys each
KEYED = {
    "ticket": re.compile(r"\bticket\.(status\s*(=|IN)|id\s*(=|IN|>)|number\s*(=|IN))", re.I),
    "event": re.compile(r"\bevent\.(ticket_id|id)\s*(=|IN|>)", re.I),
    "comment": re.compile(r"\bcomment\.(ticket_id|id)\s*(=|IN)", re.I),
    "ticket_tag": re.compile(r"\bticket_tag\.ticket_id\s*(=|IN)", re.I),
    "rule_firing": re.compile(r"\brule_firing\.ticket_id\s*(=|IN)", re.I),
}


class StatementLog:
    """Every statement sent to the database while `on`."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.statements: list[tuple[str, Any, bool]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on:
            self.statements.append((statement, parameters, many))

    def run(self, fn: Any) -> tuple[Any, float, list[tuple[str, Any, bool]]]:
        self.statements = []
        self.on = True
        started = time.perf_counter()
        try:
            result = fn()
        finally:
            elapsed = time.perf_counter() - started
            self.on = False
        return result, elapsed, self.statements


def _tables(sql: str) -> set[str]:
    return {m.lower() for m in re.findall(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+\"?(\w+)", sql, re.I)}


def unkeyed(statements: list[tuple[str, Any, bool]]) -> list[str]:
    """Statements that read or change a big table without a key (a scan of it)."""
    bad = []
    for sql, _, _ in statements:
        flat = " ".join(sql.split())
        if flat.split(" ", 1)[0].upper() not in ("SELECT", "UPDATE", "DELETE", "WITH"):
            continue
        where = flat.split(" WHERE ", 1)[1] if " WHERE " in flat else ""
        if any(not KEYED[table].search(where) for table in _tables(flat) & set(KEYED)):
            bad.append(flat[:200])
    return bad


def sqlite_plans(db: Any, statements: list[tuple[str, Any, bool]]) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN of each distinct SELECT on the ticket table (with its first parameters)."""
    plans: dict[str, list[str]] = {}
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for sql, params, many in statements:
            flat = " ".join(sql.split())
            if many or not flat.upper().startswith("SELECT") or "ticket" not in _tables(flat) or flat in plans:
                continue
            plans[flat] = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params)]
    return plans


def scans_ticket(plan: list[str]) -> bool:
    """A plan step that reads all of the ticket table (or all of one of its indexes)."""
    return any(re.match(r"SCAN (ticket|t)\b", step) for step in plan)


def mark_done_until(store: Store, at: datetime) -> tuple[int, float]:
    """Record every occurrence due at `at` as claimed, as an hourly sweep would have: the
    sweep's own plan, its claims written in bulk (no events: this is setup, not timed)."""
    started = time.perf_counter()
    db = store.db
    with db.read() as session:
        doc = routing.document(session)
        policy = sla.policy(session)
        jobs = list(sweep_module._plan(session, at, doc, policy, SweepReport()))
    rows = [
        {
            "rule": sweep_module._rule(j)[:120],
            "ticket_id": j.ticket_id,
            "occurrence": j.occurrence[:200],
            "fired_at": at,
        }
        for j in jobs
    ]
    table = RuleFiring.__table__  # type: ignore[attr-defined]
    dialect = sqlite if db.is_sqlite else postgresql
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=["rule", "ticket_id", "occurrence"])
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            conn.execute(stmt, rows[start : start + 20_000])
    return len(rows), time.perf_counter() - started


def plan_only(store: Store) -> float:
    started = time.perf_counter()
    with store.db.read() as session:
        doc = routing.document(session)
        policy = sla.policy(session)
        list(sweep_module._plan(session, utcnow(), doc, policy, SweepReport()))
    return time.perf_counter() - started


def ensure_rules(store: Store, rules: dict[str, Any]) -> None:
    with store.db.write() as session:
        current, _ = settings_store.read_document(session, "rules")
        if current != rules:
            actor = acting_agent(session, LOGIN)
            settings_store.write_document(session, "rules", rules, actor=actor, parse=parse_rules_document)


def baseline(db: Any, repeat: int = 5) -> tuple[float, int]:
    def once() -> int:
        with db.engine.connect() as conn:
            return len(conn.execute(text(CLOCK_SQL)).all())

    n = once()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        once()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), n


def actions(report: SweepReport) -> int:
    return report.warnings + report.breaches + report.escalations + report.automations + report.closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db", default="sqlite:///bench-sweep.db", help="SQLAlchemy URL of a COPY (default: ./bench-sweep.db)"
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--behind-hours", type=float, default=24, help="work the first sweep finds (default 24 h)")
    parser.add_argument("--no-automation", action="store_true", help="without the time automation")
    args = parser.parse_args()
    rules = {"sweep": RULES["sweep"]} if args.no_automation else RULES

    store = Store.open(args.db, login=LOGIN, check=False)
    total = ensure_data(store, args.tickets)
    ensure_rules(store, rules)
    db = store.db
    log = StatementLog(db.engine)
    base_s, open_n = baseline(db)
    now = utcnow()
    print(f"database: {db.dialect}, {total:,} tickets, {open_n:,} open; now {now:%Y-%m-%d %H:%M} UTC")
    automations = ", ".join(repr(r["name"]) for r in rules.get("automation", [])) or "none"
    print(f"rules: sweep {rules['sweep']}; time automations: {automations}\n", flush=True)

    claims, setup_s = mark_done_until(store, now - timedelta(hours=args.behind_hours))
    print(f"setup: occurrences due {args.behind_hours:g} h ago marked done, as by earlier sweeps:"
          f" {claims:,} claims in {setup_s:.1f} s (untimed). Only claimed: the tickets those sweeps would"
          " have closed are still resolved / pending, and the runs below read them again.\n", flush=True)  # fmt: skip

    runs = []
    for name in (f"sweep, first run ({args.behind_hours:g} h of work)", "sweep, second run right after"):
        report, elapsed, statements = log.run(lambda: sweep(db, now=utcnow(), followups=AutomationsAndMail()))
        runs.append((name, report, elapsed, statements))
    base_s2, _ = baseline(db)
    base_s = min(base_s, base_s2)
    plan_s = plan_only(store)

    print(f"{'':36} {'time':>8} {'examined':>9} {'actions':>8} {'skipped':>8} {'queries':>8} {'statements':>11}")
    for name, report, elapsed, statements in runs:
        print(f"{name:36} {elapsed:7.2f}s {report.examined:9,} {actions(report):8,} {report.skipped:8,}"
              f" {report.queries:8,} {len(statements):11,}")  # fmt: skip
    print(f"{'raw SQL: open tickets clocks, 1 SELECT':36} {base_s:7.2f}s {open_n:9,} rows")
    print(f"{'  the sweep planning alone, 3rd time':36} {plan_s:7.2f}s  (read + decide, no claims read, no writes)")
    for name, report, elapsed, _ in runs:
        print(f"  {name}: {elapsed / base_s:.1f}x raw SQL; {report.as_dict() | {'notes': len(report.notes)}}")
        for note in report.notes[:3]:
            print(f"    note: {note}")

    print("\nstatements by kind (both runs):")
    kinds: Counter[str] = Counter()
    for _, _, _, statements in runs:
        for sql, _, many in statements:
            flat = " ".join(sql.split())
            verb = flat.split(" ", 1)[0].upper()
            tables = sorted(_tables(flat))
            kinds[f"{verb} {', '.join(tables[:3])}{' (executemany)' if many else ''}"] += 1
    for kind, n in kinds.most_common(12):
        print(f"  {n:8,}  {kind}")

    bad = [s for _, _, _, statements in runs for s in unkeyed(statements)]
    print(
        f"\nonly open tickets read: statements on ticket/event/comment/ticket_tag/rule_firing without a key: {len(bad)}"
    )
    for s in bad[:5]:
        print(f"  UNKEYED: {s}")
    if db.is_sqlite:
        plans = sqlite_plans(db, [s for _, _, _, statements in runs for s in statements])
        print(f"EXPLAIN QUERY PLAN of the {len(plans)} distinct SELECTs on ticket:")
        for sql, plan in plans.items():
            flag = "SCANS ticket" if scans_ticket(plan) else "ok"
            print(f"  [{flag}] {sql[:110]}...")
            for step in plan:
                print(f"        {step}")
        scanned = [sql for sql, plan in plans.items() if scans_ticket(plan)]
        print(f"plans that scan the ticket table: {len(scanned)}")

    print()
    for name, _, elapsed, _ in runs:
        verdict = "within" if elapsed < BUDGET_S else "OVER"
        print(f"budget {BUDGET_S:g} s ({db.dialect}): {name}: {elapsed:.2f} s, {verdict}")
    store.close()


if __name__ == "__main__":
    main()
