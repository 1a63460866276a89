"""Audit chain benchmark: appending chained entries, and `ticketdesk audit verify` over a
large log as a whole process, next to raw baselines, with each run's peak RSS.

    python bench/audit_chain.py [--entries 1000000] [--db sqlite:////tmp/bench/audit-chain.db | --postgres]

`--postgres` starts a throwaway PostgreSQL cluster the way the tests do (tests/conftest.py).
The database is created fresh. Runs:

- `append`: `audit.record` (the app's path: queued, chained at commit under the head lock),
  50,000 entries a transaction; next to `raw-insert`, the same rows inserted with one
  executemany and no chain (the cost of the rows themselves);
- `raw-read`: one cursor over the log's columns in id order (reading costs at least this);
- `raw-hash`: that cursor plus the canonical encoding and SHA-256 of every row;
- `verify`: `ticketdesk audit verify` in its own process (import, keyset batches, checks).

Budget: verify streams (peak RSS flat in the log's size); time reads as a ratio to raw-hash.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH = 50_000
READ = "SELECT id, at, actor_id, actor_login, action, target, detail, ok, prev_hash, hash FROM audit_log ORDER BY id"


HWM = """
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""


def child(script: str, *args: str) -> tuple[float, float, str]:
    """Run a Python snippet in its own process: (seconds, its peak RSS in MB, its output).
    The peak is the child's own VmHWM (ru_maxrss would count the parent's pages it forked from)."""
    cmd = [sys.executable, "-c", HWM + script + "\nprint(f'HWM {_hwm():.0f}')", *args]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{args} failed:\n{out.stderr}")
    *lines, hwm = out.stdout.strip().splitlines()
    return took, float(hwm.split()[1]), " ".join(lines)


VERIFY = """
import sys
from ticketdesk.cli.app import app
try:
    app(["--db", sys.argv[1], "--as", "bench", "audit", "verify"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
"""

RAW_READ = """
import sys
from sqlalchemy import create_engine, text
eng = create_engine(sys.argv[1])
n = 0
with eng.connect() as c:
    for row in c.execution_options(stream_results=True, yield_per=5000).exec_driver_sql(sys.argv[2]):
        n += 1
print(n)
"""

RAW_HASH = """
import sys
from datetime import UTC, datetime
from sqlalchemy import create_engine
from ticketdesk.rules.audit_chain import entry_hash
eng = create_engine(sys.argv[1])
n = 0
with eng.connect() as c:
    for r in c.execution_options(stream_results=True, yield_per=5000).exec_driver_sql(sys.argv[2]):
        at = datetime.fromisoformat(r[1]) if isinstance(r[1], str) else r[1]
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        entry_hash(id=r[0], at=at, actor_id=r[2], actor_login=r[3], action=r[4], target=r[5], detail=r[6],
                   ok=bool(r[7]), prev_hash=r[8])
        n += 1
print(n)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite:////tmp/bench/audit-chain.db")
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()

    from sqlalchemy import insert, text

    from ticketdesk.store import Store
    from ticketdesk.store.db.engine import Database, upgrade_schema
    from ticketdesk.store.db.seed import seed_defaults
    from ticketdesk.store.people import audit
    from ticketdesk.store.tickets.lookups import acting_agent

    server = None
    url = args.db
    if args.postgres:
        from tests.conftest import PostgresServer

        server = PostgresServer()
        server.admin_sql("CREATE DATABASE bench")
        url = server.url("bench")
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    try:
        db = Database(url)
        upgrade_schema(db)
        with db.write() as session:
            seed_defaults(session, admin_login="bench")
        t0 = datetime(2026, 1, 1, tzinfo=UTC)

        start = time.perf_counter()
        done = 0
        while done < args.entries:
            with db.write() as session:
                me = acting_agent(session, "bench")
                for i in range(done, min(done + BATCH, args.entries)):
                    audit.record(session, actor=me, login="bench", action="export", target=f"tickets-{i}.csv",
                                 detail=f"{i % 997} rows, masked", now=t0 + timedelta(microseconds=37 * i))  # fmt: skip
            done = min(done + BATCH, args.entries)
        append = time.perf_counter() - start

        # raw baseline: the same rows, no chain, into a scratch copy of the table
        from sqlalchemy import Column, MetaData, Table

        # the same columns and types, without the indexes and the foreign key
        raw_table = Table("audit_raw", MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key)
                                                     for c in audit.audit_log.columns))  # fmt: skip
        raw_table.create(db.engine)
        rows = [
            {"id": i + 1, "at": t0 + timedelta(microseconds=37 * i), "actor_id": 1, "actor_login": "bench",
             "action": "export", "target": f"tickets-{i}.csv", "detail": f"{i % 997} rows, masked", "ok": True,
             "prev_hash": "0" * 64, "hash": "0" * 64}
            for i in range(min(args.entries, BATCH))
        ]  # fmt: skip
        start = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(insert(raw_table), rows)
        raw_insert = (time.perf_counter() - start) * args.entries / len(rows)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_raw"))
        db.dispose()

        n = args.entries
        print(f"{'sqlite' if url.startswith('sqlite') else 'postgresql'}, {n:,} entries")
        print(f"  append (audit.record, {BATCH:,}/txn)  {append:7.2f} s  {n / append:10,.0f} entries/s")
        print(
            f"  raw-insert (executemany, no chain)    {raw_insert:7.2f} s  {n / raw_insert:10,.0f} rows/s (extrapolated)"
        )
        for name, script in (("raw-read", RAW_READ), ("raw-hash", RAW_HASH)):
            took, rss, out = child(script, url, READ)
            print(f"  {name:<36} {took:7.2f} s  peak {rss:6.0f} MB  ({out} rows)")
        took, rss, out = child(VERIFY, url)
        print(f"  {'verify (ticketdesk audit verify)':<36} {took:7.2f} s  peak {rss:6.0f} MB  {out[:60]}…")
        store = Store.open(url, login="bench")
        assert store.audit.verify().count == n
        store.close()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
