"""Backup, restore and copy benchmark: each `ticketdesk` command as a whole process, next to
the same job done by the databases' own tools in the same run.

    python bench/backup.py [--tickets 100000] [--postgres] [--runs 3]

The source is a demo desk on SQLite (`/tmp/bench/backup-<N>.db`, made by `ticketdesk demo`
on the first run and reused). `--postgres` starts a throwaway PostgreSQL cluster the way the
tests do (tests/conftest.py) and adds the PostgreSQL rows. Rows, each the median of --runs:

- `backup` (SQLite online backup API) vs `sqlite3 SRC ".backup OUT"`;
- `restore` into a fresh file vs `cp` of the backup;
- `copy --to` a fresh SQLite file (migrate, copy with ids, rebuild search, verify) vs
  `sqlite3 SRC .dump | sqlite3 NEW` (the rows only: no verification);
- with --postgres: `copy --to` a fresh PostgreSQL database vs `pg_dump -Fc | pg_restore` of
  that same data into another database (PostgreSQL's own fastest path for the rows), and
  `backup` of the PostgreSQL desk vs `pg_dump -Fc`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICKETDESK = [sys.executable, "-m", "ticketdesk"]


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "TICKETDESK_DB": url, "TICKETDESK_AGENT": "admin", "TICKETDESK_CONFIG": os.devnull + ".none"}


def _run(cmd: list[str] | str, *, env: dict[str, str] | None = None, shell: bool = False) -> None:
    done = subprocess.run(cmd, env=env, shell=shell, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{cmd!r} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


def _timed(prepare: Callable[[], None], job: Callable[[], None], runs: int) -> float:
    """Median seconds of `job`, each run after `prepare` (which is not timed)."""
    times = []
    for _ in range(runs):
        prepare()
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fresh(*paths: Path) -> Callable[[], None]:
    def clear() -> None:
        for path in paths:
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)

    return clear


def _row(name: str, app: float, raw: float, raw_name: str) -> None:
    print(f"{name:<34} {app:8.2f} s   {raw_name:<40} {raw:8.2f} s   ×{app / raw:5.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    source = Path(f"/tmp/bench/backup-{args.tickets}.db")
    source.parent.mkdir(parents=True, exist_ok=True)
    src_url = f"sqlite:///{source}"
    if not source.exists():
        start = time.perf_counter()
        _run([*TICKETDESK, "demo", "--tickets", str(args.tickets)], env=_env(src_url))
        print(f"(demo desk of {args.tickets:,} tickets made in {time.perf_counter() - start:.0f} s)")
    size = source.stat().st_size / 2**20
    print(f"SQLite source: {args.tickets:,} tickets, {size:,.0f} MiB; median of {args.runs} runs")

    work = Path(tempfile.mkdtemp(prefix="bench-backup-", dir="/tmp/bench"))
    try:
        out, raw_out = work / "backup.db", work / "raw-backup.db"
        app = _timed(_fresh(out), lambda: _run([*TICKETDESK, "backup", str(out)], env=_env(src_url)), args.runs)
        raw = _timed(_fresh(raw_out), lambda: _run(["sqlite3", str(source), f".backup {raw_out}"]), args.runs)
        _row(
            "backup (SQLite)",
            app,
            raw,
            "sqlite3 .backup",
        )

        restored, raw_restored = work / "restored.db", work / "raw-restored.db"
        app = _timed(
            _fresh(restored),
            lambda: _run([*TICKETDESK, "restore", str(out)], env=_env(f"sqlite:///{restored}")),
            args.runs,
        )
        raw = _timed(_fresh(raw_restored), lambda: _run(["cp", str(out), str(raw_restored)]), args.runs)
        _row("restore (SQLite)", app, raw, "cp of the backup")

        copied, dumped = work / "copied.db", work / "dumped.db"
        app = _timed(
            _fresh(copied),
            lambda: _run([*TICKETDESK, "copy", "--to", f"sqlite:///{copied}"], env=_env(src_url)),
            args.runs,
        )
        raw = _timed(_fresh(dumped), lambda: _run(f"sqlite3 {source} .dump | sqlite3 {dumped}", shell=True), args.runs)
        _row(
            "copy --to SQLite (verified)",
            app,
            raw,
            "sqlite3 .dump | sqlite3",
        )

        if args.postgres:
            _postgres(src_url, work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _postgres(src_url: str, work: Path, runs: int) -> None:
    from tests.conftest import PostgresServer
    from ticketdesk.store.db.pg_tools import pg_tool

    server = PostgresServer()
    try:
        libpq = f"host=127.0.0.1 port={server.port} user=postgres"
        names = iter(range(1000))
        current: dict[str, str] = {}

        def new_database(key: str) -> Callable[[], None]:
            def make() -> None:
                name = f"{key}{next(names)}"
                server.admin_sql(f"CREATE DATABASE {name}")
                current[key] = name

            return make

        app = _timed(
            new_database("app"),
            lambda: _run([*TICKETDESK, "copy", "--to", server.url(current["app"])], env=_env(src_url)),
            runs,
        )
        desk = current["app"]
        dump = work / "pg.dump"
        _run([pg_tool("pg_dump"), "-Fc", "-f", str(dump), f"{libpq} dbname={desk}"])
        raw = _timed(
            new_database("raw"),
            lambda: _run([pg_tool("pg_restore"), "--no-owner", "-d", f"{libpq} dbname={current['raw']}", str(dump)]),
            runs,
        )
        _row("copy --to PostgreSQL (verified)", app, raw, "pg_restore of a pg_dump -Fc (rows only)")

        out, raw_out = work / "pg-backup.dump", work / "pg-raw.dump"
        app = _timed(_fresh(out), lambda: _run([*TICKETDESK, "backup", str(out)], env=_env(server.url(desk))), runs)
        raw = _timed(
            _fresh(raw_out),
            lambda: _run([pg_tool("pg_dump"), "-Fc", "-f", str(raw_out), f"{libpq} dbname={desk}"]),
            runs,
        )
        _row("backup (PostgreSQL)", app, raw, "pg_dump -Fc")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
