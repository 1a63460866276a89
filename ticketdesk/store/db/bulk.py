"""Bulk writes for big loads (`ticketdesk demo`, imports): row tuples straight to the
driver (COPY on PostgreSQL with psycopg), and on SQLite the FTS5 insert triggers suspended
for a load and the new rows indexed in one statement, all inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session

from ticketdesk.store.db.contents import fts_tables

CHUNK_ROWS = 10_000  # rows per executemany call


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    # Core executemany on the Table (not the ORM class): no identity map, no RETURNING.
    for start in range(0, len(rows), CHUNK_ROWS):
        session.execute(insert(table), rows[start : start + CHUNK_ROWS])


class BulkWriter:
    """Row tuples straight to the driver, for the big tables.

    Core `insert(table)` with a list of dicts spends more time in SQLAlchemy's per-row
    parameter processing than SQLite spends storing the rows, so the rows are built
    pre-bound (datetimes already in the column's storage form) and handed to the driver's
    executemany; PostgreSQL with psycopg gets COPY, faster still. Other drivers fall back to
    Core. Runs on the session's connection, so it is part of the caller's transaction.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.conn = session.connection()
        dialect = self.conn.dialect
        self.sqlite = dialect.name == "sqlite"
        self.copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.placeholder = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
        self.quote = dialect.identifier_preparer.quote

    def bind_datetime(self, value: datetime) -> Any:
        """A UTC datetime as UTCDateTime would bind it: naive-UTC text on SQLite (same format as
        SQLAlchemy's), the aware value elsewhere."""
        return value.isoformat(" ", "microseconds")[:26] if self.sqlite else value

    def insert(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(self.quote(c) for c in columns)
        target = self.quote(table.name)
        if self.copy:
            dbapi: Any = self.conn.connection.dbapi_connection
            with dbapi.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif self.placeholder is not None:
            sql = f"INSERT INTO {target} ({names}) VALUES ({', '.join([self.placeholder] * len(columns))})"
            for start in range(0, len(rows), CHUNK_ROWS):
                self.conn.exec_driver_sql(sql, rows[start : start + CHUNK_ROWS])
        else:
            insert_rows(self.session, table, [dict(zip(columns, row, strict=True)) for row in rows])


def suspend_fts_triggers(session: Session, tables: Sequence[str]) -> dict[str, list[str]]:
    """SQLite: drop the insert triggers that feed the FTS5 indexes of `tables`; returns their
    SQL by table, for `resume_fts_triggers`.

    Per-row triggers make FTS5 flush tiny segments and merge them over and over (about 4x
    the cost of indexing the same rows in one statement, see `_index_new_rows`). The drop,
    the bulk load, the indexing and the re-creation share the caller's transaction, so no
    other connection sees the gap and a failure rolls all of it back.
    """
    conn = session.connection()
    suspended: dict[str, list[str]] = {}
    for table in tables:
        fts = _fts_tables(session, table)
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
            " AND upper(sql) LIKE '%AFTER INSERT%'",
            (table,),
        ).all()
        for name, sql in rows:
            # Only triggers that feed one of the FTS tables: `_index_new_rows` redoes their work.
            if any(f in sql for f in fts):
                conn.exec_driver_sql(f"DROP TRIGGER {_quote_sqlite(name)}")
                suspended.setdefault(table, []).append(sql)
    return suspended


def resume_fts_triggers(session: Session, suspended: dict[str, list[str]], first_ids: dict[str, int]) -> None:
    """Index the rows added since the triggers were dropped, then re-create the triggers."""
    conn = session.connection()
    for table, triggers in suspended.items():
        _index_new_rows(session, table, first_ids[table])
        for sql in triggers:
            conn.exec_driver_sql(sql)


#: FTS5 keeps new terms in memory until they pass its `hashsize` (1 MiB by default), then
#: writes a segment and merges segments. For a bulk load a bigger buffer means far fewer,
#: bigger segments and less merging: the FTS indexing of 100,000 demo tickets and their
#: comments fell from 6.7 to 4.4 s. Set for the load only, in its transaction.
LOAD_HASHSIZE = 64 * 1024 * 1024
FTS5_DEFAULT_HASHSIZE = 1024 * 1024


def _index_new_rows(session: Session, table: str, first_id: int) -> None:
    """Add rows with id >= first_id of `table` to its FTS5 tables, as the triggers would have."""
    conn = session.connection()
    for fts, content in _fts_tables(session, table).items():
        quoted = _quote_sqlite(fts)
        columns = [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({quoted})")]
        names = ", ".join(_quote_sqlite(c) for c in columns)
        configured = conn.exec_driver_sql(
            f"SELECT v FROM {_quote_sqlite(fts + '_config')} WHERE k = 'hashsize'"
        ).scalar()
        _set_fts_option(session, fts, "hashsize", LOAD_HASHSIZE)
        conn.exec_driver_sql(
            f"INSERT INTO {quoted}(rowid, {names})"
            f" SELECT id, {names} FROM {_quote_sqlite(content)} WHERE id >= ? ORDER BY id",
            (first_id,),
        )
        _set_fts_option(session, fts, "hashsize", int(configured or FTS5_DEFAULT_HASHSIZE))


def _set_fts_option(session: Session, fts: str, option: str, value: int) -> None:
    """FTS5's own way to set a configuration option (kept in its %_config table)."""
    quoted = _quote_sqlite(fts)
    session.connection().exec_driver_sql(f"INSERT INTO {quoted}({quoted}, rank) VALUES (?, ?)", (option, value))


def _fts_tables(session: Session, table: str) -> dict[str, str]:
    """The FTS5 tables that index `table`, each with its external content: the table itself
    (the trigram tables), or a view over it computing what is indexed (the bigram tables of
    migration 0013: `SELECT id, ... FROM table`)."""
    conn = session.connection()
    views: dict[str, str] = {
        name: sql for name, sql in conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'view'")
    }
    return {
        fts: content
        for fts, content in fts_tables(conn).items()
        if content is not None
        and (content == table or (content in views and views[content].rstrip().endswith(f" FROM {table}")))
    }


def _quote_sqlite(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
