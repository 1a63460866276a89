"""Backups of a desk and their restore (`ticketdesk backup PATH`, `ticketdesk restore PATH`).

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
on its command line.

A restore needs an empty target (store/db/copy.py `not_empty_reasons`) and recognises the
backup by its first bytes: a SQLite file is copied aside, checked (integrity, foreign keys,
audit chain) and upgraded there, then written into the target with the backup API (or, for
a PostgreSQL target, copied into it with `copy_desk`); a pg_dump archive is replayed by
`pg_restore` through `psql` in one transaction (the target's empty tables dropped in the
same transaction), then upgraded by the migrations. Both end with ANALYZE and the checks.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.store.db.copy import (
    Progress,
    check_target_revision,
    copy_desk,
    desk_tables,
    public_url,
    require_empty,
)
from ticketdesk.store.db.engine import SQLITE_BUSY_TIMEOUT_MS, Database, _known_revision, head_revision, upgrade_schema
from ticketdesk.store.db.errors import DatabaseUnavailable, InvalidInput, SchemaNotReady
from ticketdesk.store.db.transactions import translated
from ticketdesk.store.people import audit

#: Audit actions (recorded on the source of a backup, and in a restored database).
BACKUP = "backup"
RESTORE = "restore"

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class BackupReport:
    path: str
    kind: str  # "sqlite" or "pg_dump"
    size: int
    tickets: int
    seconds: float


@dataclass
class RestoreReport:
    path: str
    kind: str
    target: str
    revision_before: str | None  # the backup's schema revision
    revision_after: str
    tickets: int = 0
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- tools ---------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """A PostgreSQL client program: on the PATH, else the newest in /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.parent.name
        return tuple(int(p) for p in re.findall(r"\d+", part)) or (0,)

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    if candidates:
        return candidates[0]
    raise InvalidInput(
        f"{name} not found (on the PATH or in /usr/lib/postgresql/*/bin): install the PostgreSQL client"
        " programs (e.g. apt-get install postgresql-client) of the server's version or newer"
    )


def _libpq(db: Database) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the child's environment with it."""
    from psycopg.conninfo import make_conninfo

    url = make_url(db.url)
    params: dict[str, Any] = {}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else ",".join(value)
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**params), env


def _run(cmd: list[str], env: dict[str, str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, check=False, **kwargs)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot run {what}: {exc}") from None
    if done.returncode != 0:
        raise DatabaseUnavailable(f"{what} failed: {_first_error(done.stderr)}")
    return done


def _first_error(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "fatal" in ln.lower()]
    return (errors or lines or ["no message"])[0]


def sqlite_path(db: Database) -> Path:
    database = make_url(db.url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput(f"{public_url(db.url)} is not a SQLite file that can be backed up or restored")
    return Path(database).expanduser()


# --- backup --------------------------------------------------------------------------------


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
    conninfo, env = _libpq(db)
    engine = db.engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
        tickets = int(conn.execute(text("SELECT count(*) FROM ticket")).scalar() or 0)
        # the same snapshot as the count; the transaction stays open until pg_dump is done
        _run(
            [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={tmp}",
             f"--dbname={conninfo}"],
            env, "pg_dump",
        )  # fmt: skip
    return tickets


# --- restore -------------------------------------------------------------------------------


def backup_kind(path: str | Path) -> str:
    """ "sqlite" or "pg_dump", by the file's first bytes."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InvalidInput(f"no such backup file: {p}")
    with open(p, "rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_dump"
    raise InvalidInput(f"{p} is neither a SQLite database nor a pg_dump custom-format archive (by its first bytes)")


def restore(url: str, path: str | Path, *, login: str, progress: Progress | None = None) -> RestoreReport:
    """`restore_database` into the database at `url` (the CLI's entry: no Store, since an
    empty database has no agents to act as; `login` is recorded in the restored audit log)."""
    db = Database(url)
    try:
        with translated():
            return restore_database(db, path, login=login, progress=progress)
    finally:
        db.dispose()


def restore_database(
    target: Database, path: str | Path, *, login: str, progress: Progress | None = None
) -> RestoreReport:
    """Restore the backup at `path` into the empty `target` (see the module docstring)."""
    started = time.perf_counter()
    backup = Path(path).expanduser()
    kind = backup_kind(backup)
    where = public_url(target.url)
    if kind == "pg_dump" and target.is_sqlite:
        raise InvalidInput(
            "a pg_dump archive restores into PostgreSQL only: restore it there, then move the desk with"
            " `ticketdesk copy --to sqlite:///FILE`"
        )
    check_target_revision(target)
    with target.engine.connect() as conn:
        require_empty(conn, where=where, what="restore")
    report = RestoreReport(str(backup), kind, where, None, head_revision())
    if kind == "sqlite":
        with _checked_copy(backup, (sqlite_path(target).parent if target.is_sqlite else None), report) as copy:
            if target.is_sqlite:
                _write_sqlite(copy, sqlite_path(target), where)
            else:
                result = copy_desk(Database(f"sqlite:///{copy}"), target, progress=progress, what="restore")
                report.checks.append(f"copied {result.rows:,} rows and verified them (audit chain {result.chain})")
    else:
        _restore_pg_dump(target, backup, where, report)
    _after_restore(target, report, login=login)
    report.seconds = time.perf_counter() - started
    return report


def _revision_check(revision: str | None, source: str) -> None:
    if revision is None:
        raise InvalidInput(f"{source} holds no ticketdesk schema (no alembic_version): not a ticketdesk backup")
    if revision != head_revision() and not _known_revision(revision):
        raise SchemaNotReady(
            f"{source} has schema revision {revision}, newer than this ticketdesk knows: upgrade ticketdesk first"
        )


@contextlib.contextmanager
def _checked_copy(backup: Path, folder: Path | None, report: RestoreReport) -> Iterator[Path]:
    """A copy of a SQLite backup (the backup itself is never touched), checked and upgraded."""
    folder = folder if folder is not None and folder.is_dir() else None
    fd, name = tempfile.mkstemp(prefix=".ticketdesk-restore-", suffix=".db", dir=folder)
    os.close(fd)
    copy = Path(name)
    try:
        shutil.copyfile(backup, copy)
        conn = sqlite3.connect(copy)
        try:
            integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if integrity != ["ok"]:
                raise InvalidInput(f"the backup {backup} is damaged: {integrity[0]}")
            orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
            if orphans:
                raise InvalidInput(f"the backup {backup} has {len(orphans)} rows whose referenced row is missing")
            try:
                revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                revision = None
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"the backup {backup} cannot be read: {exc}") from None
        finally:
            conn.close()
        report.revision_before = revision[0] if revision else None
        _revision_check(report.revision_before, str(backup))
        report.checks.append("backup: integrity_check ok, foreign_key_check ok")
        db = Database(f"sqlite:///{copy}")
        try:
            upgrade_schema(db)  # an older backup gets the newer migrations here, not in the target
        finally:
            db.dispose()
        yield copy
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{copy}{suffix}").unlink()


def _write_sqlite(copy: Path, target: Path, where: str) -> None:
    """The checked copy into the target file through SQLite's backup API: the target's own
    locks and journal apply (another connection never sees a half-written file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(copy)
    dst = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        # the emptiness check once more, just before the target is overwritten
        names = [r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if "ticket" in names and dst.execute("SELECT count(*) FROM ticket").fetchone()[0]:
            raise InvalidInput(f"{where} is not empty (tickets were added meanwhile): nothing was restored")
        src.backup(dst)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"writing {target} failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def _restore_pg_dump(target: Database, backup: Path, where: str, report: RestoreReport) -> None:
    pg_restore, psql = pg_tool("pg_restore"), pg_tool("psql")
    conninfo, env = _libpq(target)
    toc = _run([pg_restore, "--list", str(backup)], env, "pg_restore --list").stdout.decode("utf-8", "replace")
    data = _run(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(backup)], env, "pg_restore"
    ).stdout.decode("utf-8", "replace")
    report.revision_before = _copy_value(data, "alembic_version")
    _revision_check(report.revision_before, str(backup))
    # The extension is the server's business (a database owner creates pg_trgm; its comment
    # needs its owner): created below if missing, never dropped or commented on.
    keep = [ln for ln in toc.splitlines() if ln.strip() and not ln.startswith(";") and " EXTENSION " not in ln]
    with target.engine.connect() as conn:
        require_empty(conn, where=where, what="restore")
        drops = [conn.dialect.identifier_preparer.quote(n) for n in inspect(conn).get_table_names()]
    with tempfile.NamedTemporaryFile("w", prefix="ticketdesk-toc-", suffix=".list", delete=False) as fh:
        fh.write("\n".join(keep) + "\n")
        listing = fh.name
    try:
        prefix = "\\set ON_ERROR_STOP on\nBEGIN;\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n"
        prefix += "".join(f"DROP TABLE IF EXISTS {n} CASCADE;\n" for n in drops)
        restore = [pg_restore, "--no-owner", "--no-privileges", f"--use-list={listing}", "--file=-", str(backup)]
        apply = [psql, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", f"--dbname={conninfo}", "-f", "-"]
        _pipe(restore, apply, env, prefix=prefix.encode(), suffix=b"COMMIT;\n")
    finally:
        os.unlink(listing)
    report.checks.append("pg_restore: one transaction, foreign keys checked by the server")


def _pipe(producer: list[str], consumer: list[str], env: dict[str, str], *, prefix: bytes, suffix: bytes) -> None:
    """`producer | consumer` with `prefix` before and `suffix` after the producer's output."""
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as psql_errors:
        try:
            out = subprocess.Popen(consumer, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=psql_errors)  # fmt: skip
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot run psql: {exc}") from None
        try:
            src = subprocess.Popen(producer, env=env, stdout=subprocess.PIPE, stderr=errors)
        except OSError as exc:
            out.kill()
            raise DatabaseUnavailable(f"cannot run pg_restore: {exc}") from None
        assert out.stdin is not None and src.stdout is not None
        broken = False
        try:
            out.stdin.write(prefix)
            shutil.copyfileobj(src.stdout, out.stdin, 1 << 20)
            if src.wait() == 0:
                out.stdin.write(suffix)  # COMMIT only after the whole script
        except BrokenPipeError:
            broken = True  # psql stopped at an error: its message says why
        finally:
            with contextlib.suppress(BrokenPipeError):
                out.stdin.close()
        src.wait()
        out.wait()
        errors.seek(0)
        psql_errors.seek(0)
        psql_err = psql_errors.read()
        if src.returncode != 0:
            raise DatabaseUnavailable(f"pg_restore failed: {_first_error(errors.read())}; nothing was restored")
        if out.returncode != 0 or broken:
            raise DatabaseUnavailable(f"restoring failed: {_first_error(psql_err)}; nothing was restored")


def _copy_value(script: str, table: str) -> str | None:
    """The first value of a table's COPY block in a pg_restore script."""
    lines = script.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and f"{table} " in line and i + 1 < len(lines) and lines[i + 1] != "\\.":
            return lines[i + 1].split("\t")[0]
    return None


def _after_restore(target: Database, report: RestoreReport, *, login: str) -> None:
    """Migrations for an older backup, ANALYZE, then the checks and the audit entry."""
    upgrade_schema(target)
    with target.engine.connect() as conn:
        if target.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
            integrity = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            if integrity != ["ok"]:
                report.problems.append(f"integrity_check: {integrity[0]}")
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()
        orphans = orphan_rows(conn)
        report.problems += orphans
        report.tickets = int(conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar() or 0)
        if not orphans:
            report.checks.append("no orphan rows (every foreign key checked)")
        check = _chain(conn)
        if check.ok:
            report.checks.append(f"audit chain ok ({check.count:,} entries)")
        else:
            report.problems.append(f"audit chain: {check.problem}")
    with target.write() as session:
        actor = session.execute(select(Agent).where(Agent.login == login)).scalar_one_or_none()
        audit.record(
            session, actor=actor, login=login, action=RESTORE, target=Path(report.path).name[:200],
            detail=f"restored from {report.path} ({report.kind}, schema {report.revision_before}"
            f" → {report.revision_after})",
        )  # fmt: skip


def _chain(conn: Connection) -> audit.ChainCheck:
    with Session(bind=conn) as session:
        return audit.verify_chain(session)


def orphan_rows(conn: Connection) -> list[str]:
    """Rows whose foreign key names a row that does not exist, one line per foreign key
    (SQLite: PRAGMA foreign_key_check; PostgreSQL: a NOT EXISTS query per foreign key)."""
    if conn.dialect.name == "sqlite":
        found: dict[tuple[str, str], int] = {}
        for table, _rowid, parent, _fk in conn.exec_driver_sql("PRAGMA foreign_key_check"):
            found[(table, parent)] = found.get((table, parent), 0) + 1
        return [f"{n} rows of {t} refer to missing {p} rows" for (t, p), n in sorted(found.items())]
    meta = MetaData()
    meta.reflect(bind=conn, only=desk_tables(conn))
    problems = []
    q = conn.dialect.identifier_preparer.quote
    for table in meta.sorted_tables:
        for fk in table.foreign_key_constraints:
            child = [q(c.name) for c in fk.columns]
            parent = [q(e.column.name) for e in fk.elements]
            match = " AND ".join(f"p.{pc} = c.{cc}" for pc, cc in zip(parent, child, strict=True))
            present = " AND ".join(f"c.{cc} IS NOT NULL" for cc in child)
            sql = (
                f"SELECT count(*) FROM {q(table.name)} c WHERE {present}"
                f" AND NOT EXISTS (SELECT 1 FROM {q(fk.referred_table.name)} p WHERE {match})"
            )
            n = int(conn.exec_driver_sql(sql).scalar() or 0)
            if n:
                problems.append(f"{n} rows of {table.name} refer to missing {fk.referred_table.name} rows")
    return problems


__all__ = [
    "BACKUP",
    "RESTORE",
    "BackupReport",
    "RestoreReport",
    "backup_database",
    "backup_kind",
    "orphan_rows",
    "pg_tool",
    "restore",
    "restore_database",
]
