"""Restoring a backup (`ticketdesk restore PATH`; writing one: store/db/backup.py).

A restore needs an empty target (store/db/contents.py `not_empty_reasons`) and recognises
the backup by its first bytes: a SQLite file is copied aside, checked (integrity, foreign
keys, audit chain) and upgraded there, then written into the target with the backup API
(or, for a PostgreSQL target, copied into it with `copy_desk`, store/db/copy.py); a pg_dump
archive is replayed by `pg_restore` through `psql` in one transaction (the target's empty
tables dropped in the same transaction), then upgraded by the migrations. Both end with
ANALYZE and the checks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, MetaData, inspect, select
from sqlmodel import Session, col

from ticketdesk.models import Agent
from ticketdesk.store.db.backup import sqlite_path
from ticketdesk.store.db.contents import desk_tables, require_empty
from ticketdesk.store.db.copy import check_target_revision, copy_desk, public_url
from ticketdesk.store.db.copy_load import Progress
from ticketdesk.store.db.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    _known_revision,
    add_sqlite_functions,
    head_revision,
    upgrade_schema,
)
from ticketdesk.store.db.errors import DatabaseUnavailable, InvalidInput, SchemaNotReady
from ticketdesk.store.db.pg_tools import first_error, libpq, pg_tool, run
from ticketdesk.store.db.transactions import translated
from ticketdesk.store.people import audit

#: The audit action recorded in a restored database.
RESTORE = "restore"

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


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
        add_sqlite_functions(conn)  # in case integrity_check reads the bigram tables' views (migration 0013)
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
    conninfo, env = libpq(target)
    toc = run([pg_restore, "--list", str(backup)], env, "pg_restore --list").stdout.decode("utf-8", "replace")
    data = run(
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
        # the functions of migrations 0010 (change notifications), 0013 (the search's bigrams)
        # and 0014 (the status tally) come back with the backup's schema
        functions = ["ticketdesk_notify()", "ticketdesk_bigrams(text)"]
        functions += [f"ticketdesk_tally_{event}()" for event in ("insert", "delete", "update")]
        prefix += "".join(f"DROP FUNCTION IF EXISTS {f} CASCADE;\n" for f in functions)
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
            raise DatabaseUnavailable(f"pg_restore failed: {first_error(errors.read())}; nothing was restored")
        if out.returncode != 0 or broken:
            raise DatabaseUnavailable(f"restoring failed: {first_error(psql_err)}; nothing was restored")


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
        actor = session.scalars(select(Agent).where(col(Agent.login) == login)).one_or_none()
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


__all__ = ["RESTORE", "RestoreReport", "backup_kind", "orphan_rows", "restore", "restore_database"]
