"""The bulk load of a copy (store/db/copy.py): each table's rows read in batches from the
source and written into the target, COPY on PostgreSQL with psycopg (the secondary indexes
dropped for the load and re-created from their own definitions afterwards, which is also
how the pg_trgm search indexes get rebuilt), Core executemany in batches elsewhere; on
SQLite the FTS5 insert triggers are suspended for the load and each FTS5 index rebuilt
once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from ticketdesk.store.db.contents import fts_tables, quote_name
from ticketdesk.store.db.copy_plan import TablePlan

#: Rows per read batch and per executemany / COPY call.
BATCH_ROWS = 5_000

#: progress(table, rows done, rows in all)
Progress = Callable[[str, int, int], None]


class Loader:
    """Writes batches into the target and prepares it for a bulk load."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        dialect = conn.dialect
        self.sqlite = dialect.name == "sqlite"
        self.copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self._indexes: list[tuple[str, str]] = []
        self._triggers: list[str] = []
        self._fts: dict[str, str | None] = {}
        self._cache_size: int | None = None

    def before(self) -> None:
        if self.sqlite:
            # A roomy page cache (this connection only) keeps the new index pages in memory.
            self._cache_size = int(self.conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
            self.conn.exec_driver_sql("PRAGMA cache_size = -262144")
            self._fts = fts_tables(self.conn)
            fed = {c for c in self._fts.values() if c}
            for name, table, sql in self.conn.exec_driver_sql(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).all():
                # Only the insert triggers that feed an FTS5 table: 'rebuild' does their work once.
                if table in fed and "AFTER INSERT" in sql.upper() and any(f in sql for f in self._fts):
                    self.conn.exec_driver_sql(f"DROP TRIGGER {quote_name(self.conn, name)}")
                    self._triggers.append(sql)
        elif self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            # Secondary indexes (not primary keys, not constraints) go for the load and come
            # back from their own definitions: one sorted build instead of row-by-row upkeep.
            self._indexes = [
                (name, definition)
                for name, definition in self.conn.exec_driver_sql(
                    "SELECT i.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix"
                    " JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid"
                    " JOIN pg_namespace n ON n.oid = t.relnamespace"
                    " WHERE n.nspname = current_schema() AND NOT ix.indisprimary"
                    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)"
                    " AND t.relname <> 'alembic_version'"
                ).all()
            ]
            for name, _ in self._indexes:
                self.conn.exec_driver_sql(f"DROP INDEX {quote_name(self.conn, name)}")

    def write(self, plan: TablePlan, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.copy:
            binders = [plan.table.c[c].type.bind_processor(self.conn.dialect) for c in columns]
            names = ", ".join(quote_name(self.conn, c) for c in columns)
            dbapi: Any = self.conn.connection.dbapi_connection
            with (
                dbapi.cursor() as cursor,
                cursor.copy(f"COPY {quote_name(self.conn, plan.name)} ({names}) FROM STDIN") as cp,
            ):
                if any(binders):
                    for row in rows:
                        cp.write_row([b(v) if b is not None else v for b, v in zip(binders, row, strict=True)])
                else:
                    for row in rows:
                        cp.write_row(row)
        else:
            self.conn.execute(insert(plan.table), [dict(zip(columns, row, strict=True)) for row in rows])

    def after(self, plans: Sequence[TablePlan]) -> None:
        conn = self.conn
        if self.sqlite:
            for sql in self._triggers:
                conn.exec_driver_sql(sql)
            for name in self._fts:
                quoted = quote_name(conn, name)
                conn.exec_driver_sql(f"INSERT INTO {quoted}({quoted}) VALUES ('rebuild')")
            conn.exec_driver_sql("ANALYZE")
            if self._cache_size is not None:
                conn.exec_driver_sql(f"PRAGMA cache_size = {self._cache_size}")
            return
        if conn.dialect.name == "postgresql":
            for _, definition in self._indexes:
                conn.exec_driver_sql(definition)
            for plan in plans:
                if len(plan.pk) != 1:
                    continue
                seq = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote_name(conn, plan.name), "c": plan.pk[0]}
                ).scalar()
                if seq:
                    col = quote_name(conn, plan.pk[0])
                    # setval(seq, max, true): the next id is max + 1; an empty table starts at 1.
                    conn.execute(
                        text(
                            f"SELECT setval(:s, coalesce((SELECT max({col}) FROM {quote_name(conn, plan.name)}), 1),"
                            f" (SELECT count(*) > 0 FROM {quote_name(conn, plan.name)}))"
                        ),
                        {"s": seq},
                    )
            conn.exec_driver_sql("ANALYZE")


def copy_table(src: Connection, loader: Loader, plan: TablePlan, total: int, progress: Progress | None) -> None:
    """Every row of one table from `src` through `loader`, in batches."""
    table = plan.table
    columns = [c.name for c in table.columns]
    later: list[dict[str, Any]] = []
    done = 0
    if progress is not None:
        progress(plan.name, 0, total)
    order = [table.c[c] for c in plan.pk]
    result = src.execution_options(yield_per=BATCH_ROWS).execute(select(table).order_by(*order))
    refs = [columns.index(c) for c in plan.self_refs]
    for part in result.partitions(BATCH_ROWS):
        rows = [tuple(r) for r in part]
        if refs:
            # a row may refer to a later one (a ticket merged into a newer ticket): set it after the load
            fixed = []
            for row in rows:
                values = list(row)
                if any(values[i] is not None for i in refs):
                    later.append({**{c: row[columns.index(c)] for c in plan.pk}, **{columns[i]: row[i] for i in refs}})
                    for i in refs:
                        values[i] = None
                fixed.append(tuple(values))
            rows = fixed
        loader.write(plan, columns, rows)
        done += len(rows)
        if progress is not None:
            progress(plan.name, done, total)
    if later:
        stmt = (
            update(table)
            .where(*[table.c[c] == bindparam(f"k_{c}") for c in plan.pk])
            .values({c: bindparam(f"v_{c}") for c in plan.self_refs})
        )
        params = [{**{f"k_{c}": r[c] for c in plan.pk}, **{f"v_{c}": r[c] for c in plan.self_refs}} for r in later]
        for start in range(0, len(params), BATCH_ROWS):
            loader.conn.execute(stmt, params[start : start + BATCH_ROWS])
