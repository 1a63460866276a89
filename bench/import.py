"""Import benchmark: `ticketdesk import` of a generated file, next to a raw-SQL baseline.

    python bench/import.py [--tickets 100000] [--formats csv,jsonl] [--pg URL] [--keep DIR]

Generates realistic files (English and Chinese text, ~N/20 customers in 40 organisations,
tags, every status, a year of creation dates; the JSONL file also carries ~2 comments per
ticket), then for each format:

- `app`: Store.import_tickets on the file as the CLI runs it (validation pass + write pass:
  reading and checking the file twice, customers, organisations, tags, numbering, SLA due
  dates, events, import_ref, FTS indexing, ANALYZE), into a fresh, migrated SQLite database;
- `raw`: the floor — the same file read with csv/json and the same rows (tickets, comments,
  two events per ticket and one per comment, import_ref) inserted with plain executemany
  in one transaction into another fresh database, as one would write a fast loader by hand:
  the FTS insert triggers dropped for the load and the text indexed in one statement at
  the end (no customers, numbering, validation or SLA).

With `--pg URL` (an empty database the bench may fill; the schema is created) the app
import runs on PostgreSQL too, and the raw baseline inserts the same rows into TEMP copies
of the tables (`LIKE ... INCLUDING ALL`, so the same indexes) of that database.
Budget: 100,000 tickets in under 2 minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ticketdesk.imports.csv_format import read_csv
from ticketdesk.imports.jsonl_format import read_jsonl
from ticketdesk.store import Store
from ticketdesk.store.db.engine import Database, add_sqlite_functions, upgrade_schema
from ticketdesk.store.db.seed import seed_defaults

LOGIN = "bench"
NOW = datetime(2025, 6, 1, tzinfo=UTC)

EN_SUBJECTS = (
    "Printer on floor {n} not printing", "Cannot connect to the VPN from {site}", "Outlook keeps asking for my password",
    "Invoice {inv} shows the wrong VAT number", "Please install {app} on my laptop", "{app} is very slow since this morning",
    "Shared drive {drive} not accessible", "New starter needs an account", "Laptop screen flickering",
    "Cannot log in to the HR portal", "Email to {domain} bounces", "Request a refund for order {inv}",
)  # fmt: skip
ZH_SUBJECTS = (
    "{n}楼打印机无法打印", "VPN 无法连接，提示证书过期", "{app}登录后白屏", "发票{inv}税号错误，请重开",
    "申请安装{app}", "邮箱一直提示密码错误", "共享盘{drive}无法访问", "新员工入职需要开通账号",
    "笔记本屏幕闪烁", "报销系统提交失败", "网络很慢，影响业务", "请问发票抬头可以修改吗？",
)  # fmt: skip
EN_BODY = (
    "Since this morning the problem happens every time I try.", "Restarting did not help.",
    "The whole team is affected and we have a deadline today.", "Error message: \"Operation could not be completed\".",
    "It worked fine yesterday.", "Please advise as soon as possible.", "Steps: open the app, sign in, click Export.",
)  # fmt: skip
ZH_BODY = (
    "从今天早上开始一直这样。", "重启电脑也没有用。", "整个部门都受影响，月底结账急需处理。",
    "报错信息：“操作无法完成”。", "昨天还是正常的。", "麻烦尽快处理，谢谢！", "步骤：打开系统，登录，点击导出。",
)  # fmt: skip
EN_REPLIES = (
    "Thanks for reporting this, we are looking into it.", "Could you send a screenshot of the error?",
    "We have reset the configuration; please try again.", "Fixed on our side, please confirm.",
)  # fmt: skip
ZH_REPLIES = ("收到，我们正在处理。", "请提供一下报错截图。", "已经重置配置，请再试一次。", "已修复，请确认。")
CUSTOMER_REPLIES = ("Still not working.", "It works now, thank you!", "还是不行。", "可以了，谢谢！")
APPS = ("SAP", "Outlook", "Teams", "the ERP", "OA系统", "钉钉", "Power BI", "企业微信")
SITES = ("London HQ", "the Shanghai office", "Warehouse 3", "北京分公司")
STATUSES = ("new", "open", "in_progress", "pending", "on_hold", "resolved", "closed")
STATUS_W = (5, 8, 6, 3, 2, 16, 60)
CHANNELS = ("email", "web", "chat", "phone", "walk_in")
CHANNEL_W = (35, 25, 20, 15, 5)
PRIORITIES = ("P0", "P1", "P2", "P3")
PRIORITY_W = (3, 15, 55, 27)
TAGS = ("printer", "vpn", "email", "accounts", "billing", "hardware", "network", "打印机", "网络", "发票")
CSV_FIELDS = (
    "external_id", "subject", "description", "status", "priority", "type", "channel", "customer_name",
    "customer_email", "organisation", "tags", "created_at", "updated_at",
)  # fmt: skip


def generate(n: int, path_csv: Path, path_jsonl: Path, seed: int = 7) -> int:
    """Write both files; returns the number of comments in the JSONL file."""
    rng = random.Random(seed)
    orgs = [f"Org {i} Ltd" if i % 3 else f"组织{i}有限公司" for i in range(40)]
    customers = []
    for i in range(max(50, n // 20)):
        zh = i % 3 == 0
        name = f"{'王李张刘陈杨'[i % 6]}{'伟芳娜敏静强'[(i // 6) % 6]}{i}" if zh else f"Customer {i}"
        customers.append((name, f"customer{i}@example{i % 97}.com", orgs[i % 40], zh))
    comments = 0
    start = NOW - timedelta(days=365)
    with (
        open(path_csv, "w", encoding="utf-8", newline="") as fc,
        open(path_jsonl, "w", encoding="utf-8") as fj,
    ):
        out = csv.writer(fc)
        out.writerow(CSV_FIELDS)
        for i in range(n):
            name, email, org, zh = customers[int(rng.paretovariate(1.2) * 7) % len(customers)]
            slots = {
                "n": rng.randint(1, 18), "site": rng.choice(SITES), "app": rng.choice(APPS),
                "inv": f"INV-{rng.randint(1000, 99999)}", "drive": rng.choice("PSTX") + ":", "domain": "example.org",
            }  # fmt: skip
            subject = rng.choice(ZH_SUBJECTS if zh else EN_SUBJECTS).format(**slots)
            body = ("" if zh else " ").join(rng.sample(ZH_BODY if zh else EN_BODY, rng.randint(1, 3)))
            created = start + timedelta(seconds=rng.uniform(0, 364 * 86400))
            status = rng.choices(STATUSES, STATUS_W)[0]
            updated = created + timedelta(hours=rng.uniform(0.1, 96))
            tags = rng.sample(TAGS, rng.randint(0, 2))
            row = {
                "external_id": f"T{i + 1}",
                "subject": subject,
                "description": body,
                "status": status,
                "priority": rng.choices(PRIORITIES, PRIORITY_W)[0],
                "type": rng.choice(("incident", "question", "service_request")),
                "channel": rng.choices(CHANNELS, CHANNEL_W)[0],
                "customer_name": name,
                "customer_email": email,
                "organisation": org,
                "tags": " ".join(tags),
                "created_at": created.isoformat(timespec="seconds"),
                "updated_at": updated.isoformat(timespec="seconds"),
            }
            out.writerow([row[f] for f in CSV_FIELDS])
            k = rng.choices((0, 1, 2, 3, 4), (10, 20, 40, 20, 10))[0]
            at = created
            items = []
            for j in range(k):
                at = at + (updated - created) / (k + 1)
                agent = j % 2 == 0
                items.append(
                    {
                        "body": rng.choice((ZH_REPLIES if zh else EN_REPLIES) if agent else CUSTOMER_REPLIES),
                        "author_kind": "agent" if agent else "customer",
                        "author_name": LOGIN if agent else name,
                        "author_email": None if agent else email,
                        "public": not (agent and rng.random() < 0.2),
                        "created_at": at.isoformat(timespec="seconds"),
                    }
                )
            comments += k
            row["tags"] = tags  # type: ignore[assignment]
            row["comments"] = items  # type: ignore[assignment]
            fj.write(json.dumps(row, ensure_ascii=False) + "\n")
    return comments


class FileRecords:
    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt

    def __iter__(self) -> Iterator[Any]:
        with open(self.path, encoding="utf-8-sig", newline="" if self.fmt == "csv" else None) as fh:
            if self.fmt == "csv":
                yield from read_csv(fh, {}, now=NOW)
            else:
                yield from read_jsonl(fh, {}, now=NOW)


def fresh_store(url: str) -> Store:
    db = Database(url)
    upgrade_schema(db)
    with db.write() as session:
        seed_defaults(session, admin_login=LOGIN)
    db.dispose()
    store = Store.open(url, login=LOGIN)
    return store


def app_import(url: str, path: Path, fmt: str) -> tuple[float, Any]:
    store = fresh_store(url)
    try:
        started = time.perf_counter()
        report = store.imports.run(FileRecords(path, fmt), source="bench")
        return time.perf_counter() - started, report
    finally:
        store.close()


def raw_rows(path: Path, fmt: str) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    with open(path, encoding="utf-8", newline="" if fmt == "csv" else None) as fh:
        if fmt == "csv":
            for row in csv.DictReader(fh):
                yield row, []
        else:
            for line in fh:
                obj = json.loads(line)
                yield obj, obj.get("comments") or []


def raw_import_sqlite(url: str, path: Path, fmt: str) -> float:
    """Plain sqlite3 executemany of the same rows, one transaction (the floor)."""
    import sqlite3

    fresh_store(url).close()
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    add_sqlite_functions(conn)  # the bigram indexes' (migration 0013)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -262144")
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        " AND name IN ('ticket_fts_ai', 'comment_fts_ai', 'ticket_bigram_ai', 'comment_bigram_ai')"
    ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    tickets, comments, events, refs = [], [], [], []
    now = NOW.isoformat(" ")[:19]

    def flush() -> None:
        conn.executemany(
            "INSERT INTO ticket (id, number, subject, description, type, priority, status, channel, support_level,"
            " reopen_count, created_at, updated_at, version, sla_paused_seconds)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'L1', 0, ?, ?, 1, 0)",
            tickets,
        )
        conn.executemany("INSERT INTO comment (ticket_id, kind, body, created_at) VALUES (?, ?, ?, ?)", comments)
        conn.executemany(
            "INSERT INTO event (ticket_id, at, kind, field, new, ticket_version) VALUES (?, ?, ?, ?, ?, 1)", events
        )
        conn.executemany(
            "INSERT INTO import_ref (source, external_id, ticket_id, imported_at) VALUES (?, ?, ?, ?)", refs
        )
        for rows in (tickets, comments, events, refs):
            rows.clear()

    for tid, (row, items) in enumerate(raw_rows(path, fmt), start=1):
        created = row["created_at"].replace("T", " ")
        tickets.append(
            (tid, f"R{tid}", row["subject"], row["description"], row["type"], row["priority"], row["status"],
             row["channel"], created, row["updated_at"].replace("T", " "))
        )  # fmt: skip
        events.append((tid, created, "created", "number", f"R{tid}"))
        events.append((tid, now, "imported", "source", f"bench #{row['external_id']}"))
        refs.append(("bench", row["external_id"], tid, now))
        for c in items:
            at = c["created_at"].replace("T", " ")
            comments.append((tid, "public" if c["public"] else "internal", c["body"], at))
            events.append((tid, at, "commented", "comment", "public"))
        if len(tickets) >= 2000:
            flush()
    flush()
    conn.execute(
        "INSERT INTO ticket_fts(rowid, number, subject, description) SELECT id, number, subject, description FROM ticket"
    )
    conn.execute("INSERT INTO comment_fts(rowid, body) SELECT id, body FROM comment")
    for table in ("ticket", "comment"):
        conn.execute(f"INSERT INTO {table}_bigram(rowid, grams) SELECT id, grams FROM {table}_bigram_source")
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_import_pg(url: str, path: Path, fmt: str) -> float:
    """psycopg executemany of the same rows into TEMP copies of the tables (same indexes)."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        for t in ("ticket", "comment", "event", "import_ref"):
            conn.execute(f"CREATE TEMP TABLE raw_{t} (LIKE {t} INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            tickets, comments, events, refs = [], [], [], []
            for tid, (row, items) in enumerate(raw_rows(path, fmt), start=1):
                created = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
                tickets.append(
                    (tid, f"R{tid}", row["subject"], row["description"], row["type"], row["priority"],
                     row["status"], row["channel"], created, datetime.fromisoformat(row["updated_at"]).replace(tzinfo=UTC))
                )  # fmt: skip
                events.append((tid, created, "created", "number", f"R{tid}"))
                events.append((tid, NOW, "imported", "source", f"bench #{row['external_id']}"))
                refs.append(("bench", row["external_id"], tid, NOW))
                for c in items:
                    at = datetime.fromisoformat(c["created_at"]).replace(tzinfo=UTC)
                    comments.append((tid, "public" if c["public"] else "internal", c["body"], at))
                    events.append((tid, at, "commented", "comment", "public"))
            cur.executemany(
                "INSERT INTO raw_ticket (id, number, subject, description, type, priority, status, channel,"
                " support_level, reopen_count, created_at, updated_at, version, sla_paused_seconds)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'L1', 0, %s, %s, 1, 0)",
                tickets,
            )
            cur.executemany(
                "INSERT INTO raw_comment (id, ticket_id, kind, body, created_at)"
                " VALUES (nextval(pg_get_serial_sequence('comment', 'id')), %s, %s, %s, %s)",
                comments,
            )
            cur.executemany(
                "INSERT INTO raw_event (id, ticket_id, at, kind, field, new, ticket_version)"
                " VALUES (nextval(pg_get_serial_sequence('event', 'id')), %s, %s, %s, %s, %s, 1)",
                events,
            )
            cur.executemany(
                "INSERT INTO raw_import_ref (source, external_id, ticket_id, imported_at) VALUES (%s, %s, %s, %s)", refs
            )
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,jsonl", help="csv, jsonl or both (comma-separated)")
    parser.add_argument("--pg", default=None, help="an empty PostgreSQL database URL to import into as well")
    parser.add_argument("--keep", default=None, help="directory to keep the generated files and databases in")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ticketdesk-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    files = {"csv": work / "tickets.csv", "jsonl": work / "tickets.jsonl"}
    started = time.perf_counter()
    n_comments = generate(args.tickets, files["csv"], files["jsonl"])
    print(
        f"generated {args.tickets:,} tickets ({n_comments:,} comments in the JSONL file) in"
        f" {time.perf_counter() - started:.1f} s: csv {files['csv'].stat().st_size / 1e6:.0f} MB,"
        f" jsonl {files['jsonl'].stat().st_size / 1e6:.0f} MB",
        flush=True,
    )
    results: list[tuple[str, str, float, float, Any]] = []
    try:
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
            path = files[fmt]
            parse_started = time.perf_counter()
            parsed = sum(1 for _ in FileRecords(path, fmt))
            parse_s = time.perf_counter() - parse_started
            print(f"[{fmt}] reading and checking the file once (no database): {parse_s:.1f} s for {parsed:,} records")
            app_s, report = app_import(f"sqlite:///{work / f'app-{fmt}.db'}", path, fmt)
            print(f"[{fmt}] sqlite app: {app_s:.1f} s — {report.summary()}", flush=True)
            raw_s = raw_import_sqlite(f"sqlite:///{work / f'raw-{fmt}.db'}", path, fmt)
            print(f"[{fmt}] sqlite raw: {raw_s:.1f} s", flush=True)
            results.append((fmt, "sqlite", app_s, raw_s, report))
            if args.pg:
                _reset_pg(args.pg)
                app_s, report = app_import(args.pg, path, fmt)
                print(f"[{fmt}] postgres app: {app_s:.1f} s — {report.summary()}", flush=True)
                raw_s = raw_import_pg(args.pg, path, fmt)
                print(f"[{fmt}] postgres raw: {raw_s:.1f} s", flush=True)
                results.append((fmt, "postgres", app_s, raw_s, report))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print("\n| format | database | tickets | comments | app s | raw SQL s | ratio | tickets/s (app) |")
    print("|---|---|---|---|---|---|---|---|")
    for fmt, dbname, app_s, raw_s, report in results:
        print(
            f"| {fmt} | {dbname} | {report.imported:,} | {report.comments:,} | {app_s:.1f} | {raw_s:.1f} |"
            f" {app_s / max(raw_s, 1e-6):.1f}x | {report.imported / max(app_s, 1e-6):,.0f} |"
        )
    worst = max((r[2] for r in results), default=0.0)
    verdict = "within" if worst < 120 else "OVER"
    print(f"\nbudget: {args.tickets:,} tickets in under 120 s — slowest app run {worst:.1f} s: {verdict} budget")


def _reset_pg(url: str) -> None:
    """Empty the given PostgreSQL database (drop and re-create the public schema)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


if __name__ == "__main__":
    main()
