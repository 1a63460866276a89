"""Engine and session setup for SQLite and PostgreSQL, and the schema check."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from ticketdesk.rules import cjk_bigrams
from ticketdesk.store.db.errors import DatabaseUnavailable, InvalidInput, SchemaNotReady

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: a SQLite connection in a big load (`Database.write(bulk=True)`, `_set_bulk`): its page
#: cache in KiB, and the WAL's size in pages at which a commit checkpoints it
BULK_CACHE_KIB = 256 * 1024
BULK_AUTOCHECKPOINT_PAGES = 20_000
#: the settings a bulk transaction changes
_BULK_SETTINGS = ("wal_autocheckpoint", "cache_size")


class Database:
    """One engine per URL; `read()` and `write()` hand out transactional sessions."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        """`busy_timeout_ms`: how long SQLite waits for another writer's lock before giving up
        with DatabaseUnavailable (PostgreSQL waits on row locks as it does)."""
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise InvalidInput(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (NoSuchModuleError, ImportError, ArgumentError) as exc:
            raise InvalidInput(f"cannot use database URL {url!r}: {exc}") from None
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_timeout_ms)
        self._write_engine = self.engine.execution_options(ticketdesk_write=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self, *, wait_ms: int | None = None, bulk: bool = False) -> Iterator[Session]:
        """One transaction: committed if the block finishes, rolled back if it raises.

        On SQLite the transaction starts with BEGIN IMMEDIATE, so concurrent writers queue
        on the busy timeout instead of failing when a read lock cannot be upgraded.
        `wait_ms` shortens that wait for this transaction (a heartbeat that cannot get in
        should say so in seconds, not after the 30 s a ticket change may wait). `bulk`: a
        big load (the demo, an import's batches); on SQLite a roomy page cache, and a WAL
        checkpointed less often (`_set_bulk`); end the load with `checkpoint_wal`.
        """
        bind = self._write_engine
        if wait_ms is not None:
            bind = bind.execution_options(ticketdesk_wait_ms=wait_ms)
        if bulk:
            bind = bind.execution_options(ticketdesk_bulk=True)
        with Session(bind, expire_on_commit=False, autoflush=True) as session, session.begin():
            yield session

    def checkpoint_wal(self) -> None:
        """After a big load on SQLite: the WAL written into the database file and emptied
        (its file would otherwise keep the load's size while anyone has the desk open). Waits
        for readers like any write; if they keep it busy, the next commits checkpoint as
        usual. Nothing to do on PostgreSQL."""
        if not self.is_sqlite:
            return
        # the driver's connection, in autocommit (`_on_connect`): a checkpoint runs outside a
        # transaction, and SQLAlchemy's would begin one
        conn = self.engine.raw_connection()
        try:
            conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # what a bulk transaction changes, as this SQLite has it, to put back after (`_set_bulk`)
        usual = [cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in _BULK_SETTINGS]
        _record.info["ticketdesk_usual"] = dict(zip(_BULK_SETTINGS, usual, strict=True))
        cursor.close()
        add_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("ticketdesk_write"):
            # the connection's busy timeout for this transaction (pooled connections are
            # shared, so it is set on every write)
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(options.get('ticketdesk_wait_ms', busy_timeout_ms))}")
        bulk = bool(options.get("ticketdesk_bulk"))
        if conn.info.get("ticketdesk_bulk", False) != bulk:  # (info lives with the pooled connection)
            _set_bulk(conn, bulk)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("ticketdesk_write") else "BEGIN")


def add_sqlite_functions(dbapi_connection: sqlite3.Connection) -> None:
    """The SQL functions the schema's views and triggers call (migration 0013's bigram
    indexes), on a SQLite connection of the driver. Every connection that writes tickets,
    comments or customers, or checks the search indexes, needs them."""
    dbapi_connection.create_function("ticketdesk_bigrams", -1, cjk_bigrams.sqlite_tokens, deterministic=True)


def _set_bulk(conn: Any, bulk: bool) -> None:
    """A SQLite connection set for big loads, or back to its usual settings.

    - The WAL: a commit checkpoints it into the database file (with an fsync) once it holds
      1,000 pages, which each of an import's batches passes (commits were 3.3 s of every
      100,000 imported tickets). In bulk the limit is 20,000 pages (80 MB): a checkpoint
      every few batches, and the WAL stays bounded if a load dies. A load ends with
      `checkpoint_wal`.
    - The page cache: new rows land on many index pages; 256 MiB (this connection, only as
      much as is used) keeps them in memory until the commit instead of spilling them
      (100,000 imported tickets' rows: 3.8 -> 2.1 s).
    """
    values = {"wal_autocheckpoint": BULK_AUTOCHECKPOINT_PAGES, "cache_size": -BULK_CACHE_KIB}
    if not bulk:
        values = conn.info["ticketdesk_usual"]
    for name in _BULK_SETTINGS:
        conn.exec_driver_sql(f"PRAGMA {name} = {int(values[name])}")
    conn.info["ticketdesk_bulk"] = bulk


def _alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[2] / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


#: The newest migration in ticketdesk/migrations/versions. Every command checks the database
#: against it, so it is a constant rather than Alembic's script directory (importing and
#: walking that costs ~0.2 s of every start); tests/test_schema.py fails when a migration is
#: added without raising it.
SCHEMA_REVISION = "0014"


def head_revision() -> str:
    """The schema revision this ticketdesk needs."""
    return SCHEMA_REVISION


def current_revision(db: Database) -> str | None:
    """The database's schema revision (Alembic's `alembic_version` row), None before `init`."""
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot open database {_safe_url(db.url)}: {_first_line(exc)}") from None
    return None if revision is None else str(revision)


def upgrade_schema(db: Database) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision; returns (before, after)."""
    from alembic import command

    before = current_revision(db)
    with db.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
        if db.is_sqlite:
            conn.execute(text("PRAGMA optimize"))
        else:
            conn.execute(text("ANALYZE"))
    return before, head_revision()


def schema_warnings(db: Database) -> list[str]:
    """Things that work but will disappoint, said once at `init`."""
    if db.is_sqlite:
        return []
    with db.engine.connect() as conn:
        ctype = conn.execute(text("SELECT datctype FROM pg_database WHERE datname = current_database()")).scalar()
        encoding = conn.execute(text("SHOW server_encoding")).scalar()
    warnings = []
    if ctype in ("C", "POSIX"):
        warnings.append(
            f"the database's LC_CTYPE is {ctype}: pg_trgm makes no trigrams of Chinese (or other non-ASCII)"
            " text there, so such searches scan every ticket. Create the database with"
            " LC_CTYPE 'C.UTF-8' (or another UTF-8 locale) for indexed search."
        )
    if encoding != "UTF8":
        warnings.append(
            f"the database's encoding is {encoding}: two-character Chinese words are searched without"
            " their index (it needs UTF8), on every ticket. Create the database with ENCODING 'UTF8'."
        )
    return warnings


def check_schema(db: Database) -> None:
    """Refuse to work on an uninitialised or outdated database, saying what to run."""
    current = current_revision(db)
    head = head_revision()
    if current is None:
        raise SchemaNotReady(f"database {_safe_url(db.url)} is not initialised: run `ticketdesk init` first")
    if current != head and not _known_revision(current):
        raise SchemaNotReady(
            f"database schema revision {current} is newer than this ticketdesk knows (it needs {head}):"
            " upgrade ticketdesk to use this database"
        )
    if current != head:
        raise SchemaNotReady(
            f"database schema is at revision {current}, this ticketdesk needs {head}:"
            " run `ticketdesk init` to upgrade it"
        )


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory.from_config(_alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
