"""Export benchmark: every ticket of the 1,000,000-ticket database to CSV, JSON lines and
XLSX through the app's export path, next to a raw-SQL baseline, with each run's peak RSS.

    python bench/export.py [--db /tmp/bench/bench-store.db] [--as bench] [--formats csv,jsonl,xlsx]
                           [--query 'prio:P0'] [--out-dir /tmp]

The database is opened read-only (SQLite `immutable=1`: no locks, no -wal/-shm files, no
writes; the export's audit entry is not written). Each run is its own process, so its peak
RSS (`ru_maxrss`) is its own:

- `raw`: one sqlite3 cursor over the same SELECT (same joins and columns, no tags, no
  formatting, nothing written): what reading the rows costs at the least;
- `raw-csv`: the same cursor written with `csv.writer` (the floor of a CSV export);
- `csv`, `jsonl`, `xlsx`: `Store.export_tickets` (streamed, masked for the acting role)
  into the CLI's writers (cli/report_formats.py), as `ticketdesk export` runs them.

Budget: memory under 200 MB for any format; time reads as a ratio to the baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RAW_SQL = """
SELECT t.id, t.number, t.subject, t.status, t.priority, t.type, t.category, t.channel, t.support_level,
       team.key, agent.login, customer.name, customer.email, customer.phone, organisation.name,
       t.created_at, t.updated_at, t.first_response_due, t.first_responded_at, t.resolution_due,
       t.resolved_at, t.closed_at, t.reopen_count, t.sla_paused_at
FROM ticket t
LEFT JOIN team ON team.id = t.team_id
LEFT JOIN agent ON agent.id = t.assignee_id
LEFT JOIN customer ON customer.id = t.customer_id
LEFT JOIN organisation ON organisation.id = customer.organisation_id
ORDER BY t.id
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, db: str, login: str, out_dir: str, query: str | None) -> None:
    """One measured run; prints a JSON line: rows, seconds, peak MB, bytes written."""
    import sqlite3

    started = time.perf_counter()
    out = ""
    if mode in ("raw", "raw-csv"):
        if query:
            raise SystemExit("--query applies to the app runs only")
        conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
        cursor = conn.execute(RAW_SQL)
        n = 0
        if mode == "raw":
            for _ in cursor:
                n += 1
        else:
            import csv

            out = os.path.join(out_dir, "bench-export-raw.csv")
            with open(out, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                for row in cursor:
                    writer.writerow(row)
                    n += 1
    else:
        from ticketdesk.cli import report_formats as rf
        from ticketdesk.rules.query import TicketFilter, parse_query
        from ticketdesk.store import Store
        from ticketdesk.store.reports.export import DATETIME_COLUMNS, EXPORT_COLUMNS

        store = Store.open(f"sqlite:///file:{db}?immutable=1&uri=true", login=login, check=False)
        rows = store.export_tickets(parse_query(query) if query else TicketFilter())
        out = os.path.join(out_dir, f"bench-export.{mode}")
        if mode == "xlsx":
            n = rf.write_export_xlsx(EXPORT_COLUMNS, rows, out, datetime_columns=DATETIME_COLUMNS)
        else:
            write = rf.write_export_csv if mode == "csv" else lambda _columns, r, fh: rf.write_export_jsonl(r, fh)
            with open(out, "w", newline="", encoding="utf-8") as fh:
                n = write(EXPORT_COLUMNS, rows, fh)
        store.close()
    elapsed = time.perf_counter() - started
    size = os.path.getsize(out) if out else 0
    print(json.dumps({"mode": mode, "rows": n, "seconds": elapsed, "peak_mb": peak_mb(), "bytes": size}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/tmp/bench/bench-store.db", help="SQLite file (opened read-only)")
    parser.add_argument("--as", dest="login", default="bench", help="Acting agent login")
    parser.add_argument("--formats", default="csv,jsonl,xlsx", help="App formats to run")
    parser.add_argument("--query", default=None, help="Filter language for the app runs, e.g. 'prio:P0'")
    parser.add_argument("--out-dir", default="/tmp", help="Where the exports go (deleted after)")
    parser.add_argument("--keep", action="store_true", help="Keep the exported files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # Database() makes the parent directory of the SQLite path: for a `file:` URI that is a
        # relative "file:" directory, so run in the output directory's scratch space.
        scratch = Path(args.out_dir) / ".bench-export-scratch"
        scratch.mkdir(exist_ok=True)
        os.chdir(scratch)
        child(args.child, args.db, args.login, args.out_dir, args.query)
        return
    if not Path(args.db).exists():
        raise SystemExit(f"{args.db}: no such database (generate one with bench/store.py or `ticketdesk demo`)")
    modes = ([] if args.query else ["raw", "raw-csv"]) + [m.strip() for m in args.formats.split(",") if m.strip()]
    print(f"export of {args.db} as {args.login!r}" + (f", filter {args.query!r}" if args.query else ""))
    print(f"{'run':<8} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'peak RSS':>10} {'file':>10}")
    results = {}
    for mode in modes:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--db",
            args.db,
            "--as",
            args.login,
            "--out-dir",
            args.out_dir,
        ]
        if args.query:
            cmd += ["--query", args.query]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{mode:<8} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results[mode] = r
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        size = f"{r['bytes'] / 1e6:.0f} MB" if r["bytes"] else "-"
        print(f"{mode:<8} {r['rows']:>10,} {r['seconds']:>8.1f}s {rate:>10,.0f} {r['peak_mb']:>7.0f} MB {size:>10}")
        if not args.keep:
            for name in ("bench-export-raw.csv", f"bench-export.{mode}"):
                Path(args.out_dir, name).unlink(missing_ok=True)
    scratch = Path(args.out_dir) / ".bench-export-scratch"
    for d in sorted(scratch.rglob("*"), reverse=True) if scratch.exists() else []:
        if d.is_dir():
            d.rmdir()
    if scratch.exists():
        scratch.rmdir()
    for base in ("raw", "raw-csv"):
        if base in results:
            ratios = ", ".join(
                f"{m} {results[m]['seconds'] / results[base]['seconds']:.1f}x"
                for m in results
                if not m.startswith("raw")
            )
            print(f"vs {base}: {ratios}")
    over = [m for m, r in results.items() if r["peak_mb"] > 200]
    print("memory budget (< 200 MB):", "exceeded by " + ", ".join(over) if over else "met by every run")


if __name__ == "__main__":
    main()
