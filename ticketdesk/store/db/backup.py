"""Backups of a desk (`ticketdesk backup PATH`; restoring one: store/db/restore.py).

SQLite backups use the online backup API (`sqlite3.Connection.backup`) in ONE step: the
whole database is copied page by page inside a single read transaction, so the copy is
the database as of one instant, and in WAL mode the agents' writers keep committing
meanwhile (a step-wise backup would restart whenever another connection writes). It copies
pages as they are, so it costs no more than reading the file; `VACUUM INTO` would rebuild
every table and index (a compacted file, but several times the work on a big desk). The
backup is switched to a rollback journal, so it is one self-contained file.

PostgreSQL backups are `pg_dump --format=custom`, run on a snapshot exported by a
REPEATABLE READ transaction that also counts the tickets, so the count printed is the
count in the archive. The password goes to pg_dump in its environment (PGPASSWORD), never
on its command line (store/db/pg_tools.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ticketdesk.store.db.copy import public_url
from ticketdesk.store.db.engine import SQLITE_BUSY_TIMEOUT_MS, Database, add_sqlite_functions
from ticketdesk.store.db.errors import DatabaseUnavailable, InvalidInput
from ticketdesk.store.db.pg_tools import libpq, pg_tool, run

#: The audit action recorded on the source of a backup (store/desk.py `backup`).
BACKUP = "backup"


@dataclass(frozen=True)
class BackupReport:
    path: str
    kind: str  # "sqlite" or "pg_dump"
    size: int
    tickets: int
    seconds: float


def sqlite_path(db: Database) -> Path:
    database = make_url(db.url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput(f"{public_url(db.url)} is not a SQLite file that can be backed up or restored")
    return Path(database).expanduser()


def backup_database(db: Database, path: str | Path, *, force: bool = False) -> BackupReport:
    """Write a consistent backup of `db` to `path` (never overwritten unless `force`); the
    file appears whole or not at all (written beside it, then moved into place)."""
    started = time.perf_counter()
    target = Path(path).expanduser()
    if target.is_dir():
        raise InvalidInput(f"{target} is a directory: name the backup file")
    if target.exists() and not force:
        raise InvalidInput(f"{target} already exists: pass --force to overwrite it")
    if not target.parent.is_dir():
        raise InvalidInput(f"no such directory: {target.parent}")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        if db.is_sqlite:
            kind, tickets = "sqlite", _backup_sqlite(db, tmp)
        else:
            kind, tickets = "pg_dump", _backup_postgres(db, tmp)
        _fsync(tmp)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the file appeared meanwhile: never overwrite
            except FileExistsError:
                raise InvalidInput(f"{target} already exists: pass --force to overwrite it") from None
        _fsync(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupReport(str(target), kind, target.stat().st_size, tickets, time.perf_counter() - started)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _backup_sqlite(db: Database, tmp: Path) -> int:
    source = sqlite_path(db)
    if not source.is_file():
        raise InvalidInput(f"no such database file: {source}")
    src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(tmp)
    add_sqlite_functions(dst)  # in case quick_check reads the bigram tables' views (migration 0013)
    try:
        src.backup(dst)  # pages=-1: every page in one step, i.e. one read transaction
        dst.execute("PRAGMA journal_mode = DELETE")
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise DatabaseUnavailable(f"the backup does not check out ({check}); nothing was written")
        return int(dst.execute("SELECT count(*) FROM ticket").fetchone()[0])
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"SQLite backup failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def _backup_postgres(db: Database, tmp: Path) -> int:
    pg_dump = pg_tool("pg_dump")
    conninfo, env = libpq(db)
    engine = db.engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
        tickets = int(conn.execute(text("SELECT count(*) FROM ticket")).scalar() or 0)
        # the same snapshot as the count; the transaction stays open until pg_dump is done
        run(
            [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={tmp}",
             f"--dbname={conninfo}"],
            env, "pg_dump",
        )  # fmt: skip
    return tickets


__all__ = ["BACKUP", "BackupReport", "backup_database", "sqlite_path"]
