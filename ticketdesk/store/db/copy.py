"""Copy a whole desk to another database (`ticketdesk copy --to URL`), and what an "empty"
target is (also used by restore, store/db/backup.py).

The copy reads the source in one snapshot (a deferred read transaction on SQLite, which WAL
lets writers work past; REPEATABLE READ on PostgreSQL), so agents keep working while it
runs and the copy is the desk as it was at one instant. The target is migrated to the same
schema revision (not seeded) and must be empty; everything is then written in ONE target
transaction: every table in foreign-key order with its ids, numbers and counters, PostgreSQL
sequences moved past the ids, search indexes rebuilt, ANALYZE, and a verification (row
counts of every table, the audit chain, a sample of tickets with their tags, comments,
events, links, mail and attachments compared field by field). Any difference rolls the
whole copy back, so a target is either a verified copy or still empty.

Bulk writes: COPY on PostgreSQL with psycopg (the secondary indexes are dropped for the
load and re-created from their own definitions afterwards, which is also how the pg_trgm
search indexes get rebuilt), Core executemany in batches elsewhere; on SQLite the FTS5
insert triggers are suspended for the load and each FTS5 index rebuilt once.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SAWarning
from sqlmodel import Session, SQLModel

from ticketdesk.models.types import UTCDateTime
from ticketdesk.store.db.engine import Database, _safe_url, current_revision, head_revision, upgrade_schema
from ticketdesk.store.db.errors import InvalidInput, SchemaNotReady, StoreError

#: The audit action recorded on the source (store/service.py `copy_to`).
COPY = "copy"
#: Rows per read batch and per executemany / COPY call.
BATCH_ROWS = 5_000
#: Tickets compared field by field (spread over the id range, plus the first and the last).
SAMPLE_TICKETS = 200
#: Tables with at most this many rows are compared whole; bigger ones by sample.
WHOLE_TABLE_ROWS = 50_000
#: Tables that migrations own: checked (same revision), never copied.
SCHEMA_TABLES = frozenset({"alembic_version"})
_FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")

Progress = Callable[[str, int, int], None]


# --- reports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCount:
    name: str
    source: int
    target: int


@dataclass
class CopyReport:
    source: str
    target: str
    revision: str
    tables: list[TableCount] = field(default_factory=list)
    chain: str = ""
    sampled: int = 0
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def tickets(self) -> int:
        return next((t.target for t in self.tables if t.name == "ticket"), 0)

    @property
    def rows(self) -> int:
        return sum(t.target for t in self.tables)


class CopyMismatch(StoreError):
    """The verification found differences; the target transaction was rolled back."""

    def __init__(self, report: CopyReport) -> None:
        n = len(report.differences)
        super().__init__(
            f"the copy to {report.target} did not verify ({n} difference{'s' if n != 1 else ''}, first:"
            f" {report.differences[0]}); nothing was written to the target"
        )
        self.report = report


def public_url(url: str) -> str:
    """The URL without its password (for messages and the audit log)."""
    try:
        # URL.set(password=None) means "leave it": replace the field itself
        return make_url(url)._replace(password=None).render_as_string(hide_password=False)
    except ArgumentError:
        return _safe_url(url)


# --- what a database holds -----------------------------------------------------------------


def fts_tables(conn: Connection) -> dict[str, str | None]:
    """SQLite: the FTS5 tables, with the table each indexes (its external content)."""
    if conn.dialect.name != "sqlite":
        return {}
    found: dict[str, str | None] = {}
    for name, sql in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    ):
        if "fts5" not in (sql or "").lower():
            continue
        content = None
        for quote in ("'", '"'):
            marker = f"content={quote}"
            if marker in sql:
                content = sql.split(marker, 1)[1].split(quote, 1)[0]
        found[name] = content
    return found


def desk_tables(conn: Connection) -> list[str]:
    """Tables holding the desk's data: every table but the database's own (sqlite_*), the
    FTS5 tables and their shadow tables (rebuilt, not copied) and the migrations' table."""
    names = inspect(conn).get_table_names()
    fts = set(fts_tables(conn))
    derived = fts | {f"{t}{s}" for t in fts for s in _FTS_SHADOWS}
    return sorted(n for n in names if not n.startswith("sqlite_") and n not in derived and n not in SCHEMA_TABLES)


def _all_tables(conn: Connection) -> list[str]:
    return [n for n in inspect(conn).get_table_names() if not n.startswith("sqlite_")]


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _count(conn: Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {_quote(conn, table)}").scalar() or 0)


def _seeded_reasons(conn: Connection, counts: dict[str, int]) -> list[str]:
    """Rows that `ticketdesk init` would not have made (store/db/seed.py)."""
    from ticketdesk.store.db.seed import DEFAULT_TEAMS, DEFAULT_TYPES

    reasons: list[str] = []
    model = SQLModel.metadata.tables
    for table, defaults, what in (("team", DEFAULT_TEAMS, "team"), ("ticket_type", DEFAULT_TYPES, "ticket type")):
        if counts.get(table):
            keys = set(conn.execute(select(model[table].c.key)).scalars())
            extra = sorted(keys - {k for k, _ in defaults})
            if extra:
                reasons.append(f"{what} {extra[0]!r} that init does not create")
    if counts.get("agent", 0) > 1:
        reasons.append(f"{counts['agent']} agents")
    if counts.get("reply_template"):
        t = model["reply_template"]
        own = conn.execute(select(func.count()).select_from(t).where(t.c.created_by_id.is_not(None))).scalar()
        if own:
            reasons.append(f"{own} reply template{'s' if own != 1 else ''} someone added")
    return reasons


#: Tables `ticketdesk init` fills (store/db/seed.py); their seeded rows do not make a desk "not empty".
SEEDED_TABLES = frozenset({"team", "ticket_type", "reply_template", "agent"})
_NOUNS = {"ticket": "tickets", "customer": "customers", "comment": "comments", "event": "events",
          "audit_log": "audit log entries", "organisation": "organisations"}  # fmt: skip


def not_empty_reasons(conn: Connection) -> list[str]:
    """Why a database is not "empty" (an empty list when it is).

    Empty means: no tables at all, or a ticketdesk schema (any revision) whose tables hold
    nothing but what `ticketdesk init` seeds — its default teams and ticket types, its reply
    templates and at most one agent (the admin init made) — so no tickets, no customers, no
    audit entries. Tables the migrations add beyond the models (derived data such as search
    indexes) do not count."""
    names = _all_tables(conn)
    if not names:
        return []
    if "alembic_version" not in names:
        shown = ", ".join(sorted(names)[:3]) + (", …" if len(names) > 3 else "")
        return [f"tables that are not ticketdesk's ({shown})"]
    counts = {n: _count(conn, n) for n in desk_tables(conn)}
    reasons = [
        f"{counts[n]:,} {_NOUNS.get(n, n + ' rows')}"
        for n in sorted(counts, key=lambda n: (list(_NOUNS).index(n) if n in _NOUNS else len(_NOUNS), n))
        if counts[n] and n in SQLModel.metadata.tables and n not in SEEDED_TABLES
    ]
    return reasons + _seeded_reasons(conn, counts)


def require_empty(conn: Connection, *, where: str, what: str) -> None:
    reasons = not_empty_reasons(conn)
    if reasons:
        raise InvalidInput(
            f"{where} is not empty (it has {', '.join(reasons[:4])}): {what} needs an empty database, one with"
            " no tables or a fresh `ticketdesk init` with no tickets, no customers and only the seeded teams,"
            " types, reply templates and one admin"
        )


def check_target_revision(db: Database) -> str | None:
    """The target's revision, refusing one newer than this ticketdesk knows."""
    from ticketdesk.store.db.engine import _known_revision

    current = current_revision(db)
    if current is not None and current != head_revision() and not _known_revision(current):
        raise SchemaNotReady(
            f"database {public_url(db.url)} has schema revision {current}, newer than this ticketdesk knows:"
            " upgrade ticketdesk first"
        )
    return current


# --- the plan: typed tables in foreign-key order -------------------------------------------


@dataclass
class _Plan:
    name: str
    table: Table
    pk: list[str]
    #: columns referring to this same table (inserted NULL, set once every row exists)
    self_refs: list[str]
    #: columns referring to ticket.id (their rows are compared for the sampled tickets)
    ticket_refs: list[str]


def _typed_column(name: str, reflected: Column[Any], model: Table | None) -> Column[Any]:
    if model is not None and name in model.c:
        typ: Any = model.c[name].type
    elif isinstance(reflected.type, DateTime):
        typ = UTCDateTime()  # the project stores aware UTC everywhere
    else:
        try:
            typ = reflected.type.as_generic()
        except NotImplementedError:
            typ = reflected.type
    return Column(name, typ, primary_key=reflected.primary_key)


def plan_tables(source: Connection, target: Connection) -> list[_Plan]:
    """Every desk table, in foreign-key order, with the model's column types where the
    model knows the column (so values cross dialects as Python values: aware datetimes,
    booleans, bytes) and the reflected ones for columns only migrations know."""
    names = desk_tables(source)
    target_names = desk_tables(target)
    if set(names) != set(target_names):
        missing = sorted(set(names) - set(target_names))
        extra = sorted(set(target_names) - set(names))
        raise InvalidInput(
            f"the two schemas differ although both are at the same revision (tables only in the source: {missing},"
            f" only in the target: {extra})"
        )
    reflected = MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # cycles and unknown types are handled below
        reflected.reflect(bind=source, only=names)
    t_inspect = inspect(target)
    plans: list[_Plan] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        ordered = reflected.sorted_tables
    for table in ordered:
        theirs = {c["name"] for c in t_inspect.get_columns(table.name)}
        ours = {c.name for c in table.columns}
        if ours != theirs:
            raise InvalidInput(
                f"table {table.name} has different columns in the source and the target"
                f" ({sorted(ours ^ theirs)}): are both at the same schema revision?"
            )
        model = SQLModel.metadata.tables.get(table.name)
        typed = Table(table.name, MetaData(), *[_typed_column(c.name, c, model) for c in table.columns])
        pk = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
        self_refs = sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name == table.name})
        ticket_refs = sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "ticket"})
        plans.append(_Plan(table.name, typed, pk, self_refs, ticket_refs))
    return plans


# --- the copy ------------------------------------------------------------------------------


@contextmanager
def source_snapshot(db: Database) -> Iterator[Connection]:
    """One read transaction: every read in it sees the database as of one instant."""
    engine = db.engine
    if not db.is_sqlite:
        engine = engine.execution_options(isolation_level="REPEATABLE READ")  # type: ignore[assignment]
    with engine.connect() as conn, conn.begin() as txn:
        try:
            yield conn
        finally:
            txn.rollback()


def copy_desk(
    source: Database,
    target: Database,
    *,
    progress: Progress | None = None,
    sample: int = SAMPLE_TICKETS,
    what: str = "copy",
) -> CopyReport:
    """Copy every row of `source` into the empty `target` and verify it (see the module
    docstring). Raises InvalidInput for a non-empty target, CopyMismatch when the
    verification finds a difference (then nothing stays written)."""
    started = time.perf_counter()
    if _same_database(source.url, target.url):
        raise InvalidInput("the source and the target are the same database")
    revision = current_revision(source)
    if revision != head_revision():
        raise SchemaNotReady(
            f"the source is at schema revision {revision}, this ticketdesk needs {head_revision()}: run"
            " `ticketdesk init` on it first"
        )
    where = public_url(target.url)
    check_target_revision(target)
    with target.engine.connect() as conn:
        require_empty(conn, where=where, what=what)
    upgrade_schema(target)  # the schema only: no seed rows
    report = CopyReport(source=public_url(source.url), target=where, revision=revision or "")
    write_engine = target.engine.execution_options(ticketdesk_write=True)  # BEGIN IMMEDIATE on SQLite
    with source_snapshot(source) as src, write_engine.connect() as dst:
        txn = dst.begin()
        try:
            require_empty(dst, where=where, what=what)  # again, now that we hold the write transaction
            plans = plan_tables(src, dst)
            counts = {p.name: _count(src, p.name) for p in plans}
            _clear_seed_rows(dst, plans)
            loader = _Loader(dst)
            loader.before()
            for plan in plans:
                _copy_table(src, loader, plan, counts[plan.name], progress)
            loader.after(plans)
            _verify(src, dst, plans, counts, report, sample=sample)
            if not report.ok:
                raise CopyMismatch(report)
            txn.commit()
        except BaseException:
            txn.rollback()
            raise
    report.seconds = time.perf_counter() - started
    return report


def _same_database(a: str, b: str) -> bool:
    try:
        ua, ub = make_url(a), make_url(b)
    except ArgumentError:
        return a == b
    if ua.get_backend_name() != ub.get_backend_name():
        return False
    if ua.get_backend_name() == "sqlite":
        from pathlib import Path

        pa, pb = ua.database or "", ub.database or ""
        if not pa or not pb or ":memory:" in (pa, pb):
            return False
        return Path(pa).expanduser().resolve() == Path(pb).expanduser().resolve()
    return (ua.host or "localhost", ua.port or 5432, ua.database) == (
        ub.host or "localhost",
        ub.port or 5432,
        ub.database,
    )


def _clear_seed_rows(dst: Connection, plans: Sequence[_Plan]) -> None:
    """Remove what `init` seeded (the target was checked to hold nothing else)."""
    for plan in reversed(plans):
        if _count(dst, plan.name):
            dst.execute(plan.table.delete())


class _Loader:
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
                    self.conn.exec_driver_sql(f"DROP TRIGGER {_quote(self.conn, name)}")
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
                self.conn.exec_driver_sql(f"DROP INDEX {_quote(self.conn, name)}")

    def write(self, plan: _Plan, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.copy:
            binders = [plan.table.c[c].type.bind_processor(self.conn.dialect) for c in columns]
            names = ", ".join(_quote(self.conn, c) for c in columns)
            dbapi: Any = self.conn.connection.dbapi_connection
            with (
                dbapi.cursor() as cursor,
                cursor.copy(f"COPY {_quote(self.conn, plan.name)} ({names}) FROM STDIN") as cp,
            ):
                if any(binders):
                    for row in rows:
                        cp.write_row([b(v) if b is not None else v for b, v in zip(binders, row, strict=True)])
                else:
                    for row in rows:
                        cp.write_row(row)
        else:
            self.conn.execute(insert(plan.table), [dict(zip(columns, row, strict=True)) for row in rows])

    def after(self, plans: Sequence[_Plan]) -> None:
        conn = self.conn
        if self.sqlite:
            for sql in self._triggers:
                conn.exec_driver_sql(sql)
            for name in self._fts:
                quoted = _quote(conn, name)
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
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": _quote(conn, plan.name), "c": plan.pk[0]}
                ).scalar()
                if seq:
                    col = _quote(conn, plan.pk[0])
                    # setval(seq, max, true): the next id is max + 1; an empty table starts at 1.
                    conn.execute(
                        text(
                            f"SELECT setval(:s, coalesce((SELECT max({col}) FROM {_quote(conn, plan.name)}), 1),"
                            f" (SELECT count(*) > 0 FROM {_quote(conn, plan.name)}))"
                        ),
                        {"s": seq},
                    )
            conn.exec_driver_sql("ANALYZE")


def _copy_table(src: Connection, loader: _Loader, plan: _Plan, total: int, progress: Progress | None) -> None:
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


# --- verification --------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    shown = repr(value.isoformat() if isinstance(value, datetime) else value)
    return shown if len(shown) <= 60 else shown[:57] + "…"


def compare_rows(
    label: str, source: Sequence[Mapping[str, Any]], target: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> list[str]:
    """The differences between two sets of rows of one table, matched by `key`: a row
    missing on either side, or a field whose values differ (datetimes compared as instants)."""
    differences: list[str] = []

    def keyed(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, ...], Mapping[str, Any]]:
        return {tuple(_norm(r[k]) for k in key): r for r in rows}

    a, b = keyed(source), keyed(target)

    def name(k: tuple[Any, ...]) -> str:
        return f"{label} {', '.join(f'{c}={v}' for c, v in zip(key, k, strict=True))}"

    for k in a.keys() - b.keys():
        differences.append(f"{name(k)} is missing in the target")
    for k in b.keys() - a.keys():
        differences.append(f"{name(k)} is in the target but not in the source")
    for k in sorted(a.keys() & b.keys(), key=repr):
        left, right = a[k], b[k]
        for column in sorted(set(left.keys()) | set(right.keys())):
            if column not in right:
                differences.append(f"{name(k)}: column {column} is missing in the target")
            elif column not in left:
                differences.append(f"{name(k)}: column {column} is missing in the source")
            elif _norm(left[column]) != _norm(right[column]):
                differences.append(
                    f"{name(k)}: {column} is {_show(left[column])} in the source, {_show(right[column])} in the target"
                )
    return sorted(differences)


def _rows(conn: Connection, plan: _Plan, where: Any = None) -> list[dict[str, Any]]:
    stmt = select(plan.table)
    if where is not None:
        stmt = stmt.where(where)
    stmt = stmt.order_by(*[plan.table.c[c] for c in plan.pk])
    return [dict(r._mapping) for r in conn.execute(stmt)]


def spread_ids(conn: Connection, table: Table, column: str, n: int) -> list[Any]:
    """About `n` ids spread evenly over the id range, with the first and the last."""
    col = table.c[column]
    low, high = conn.execute(select(func.min(col), func.max(col))).one()
    if low is None:
        return []
    ids = {low, high}
    if n > 0 and high > low:
        step = (high - low) / n
        for i in range(1, n):
            found = conn.execute(select(func.min(col)).where(col >= low + int(i * step))).scalar()
            if found is not None:
                ids.add(found)
    return sorted(ids)


def _verify(
    src: Connection, dst: Connection, plans: Sequence[_Plan], counts: dict[str, int], report: CopyReport, *, sample: int
) -> None:
    diffs = report.differences
    for plan in plans:
        got = _count(dst, plan.name)
        report.tables.append(TableCount(plan.name, counts[plan.name], got))
        if got != counts[plan.name]:
            diffs.append(f"{plan.name}: {counts[plan.name]:,} rows in the source, {got:,} in the target")
    if current_revision_of(src) != current_revision_of(dst):
        diffs.append(
            f"schema revision {current_revision_of(src)} in the source, {current_revision_of(dst)} in the target"
        )
    report.chain = _verify_chains(src, dst, diffs)
    by_name = {p.name: p for p in plans}
    sampled: list[Any] = []
    if "ticket" in by_name:
        ticket = by_name["ticket"]
        sampled = spread_ids(src, ticket.table, "id", sample)
        report.sampled = len(sampled)
    for plan in plans:
        t = plan.table
        if counts[plan.name] <= WHOLE_TABLE_ROWS:
            diffs += compare_rows(plan.name, _rows(src, plan), _rows(dst, plan), plan.pk)
            continue
        if plan.name == "ticket" or plan.ticket_refs:
            # the sampled tickets, and for each table that refers to tickets, the rows of those tickets
            cols = ["id"] if plan.name == "ticket" else plan.ticket_refs
            for column in cols:
                for start in range(0, len(sampled), 500):
                    chunk = sampled[start : start + 500]
                    cond = t.c[column].in_(chunk)
                    diffs += compare_rows(
                        f"{plan.name} ({column} sampled)", _rows(src, plan, cond), _rows(dst, plan, cond), plan.pk
                    )
        elif len(plan.pk) == 1:
            ids = spread_ids(src, t, plan.pk[0], sample)
            cond = t.c[plan.pk[0]].in_(ids)
            diffs += compare_rows(f"{plan.name} (sampled)", _rows(src, plan, cond), _rows(dst, plan, cond), plan.pk)


def current_revision_of(conn: Connection) -> str | None:
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _verify_chains(src: Connection, dst: Connection, diffs: list[str]) -> str:
    """The audit hash chain (store/people/audit.py `verify_chain`) checked on the target and
    compared with the source's."""
    from ticketdesk.store.people import audit

    with Session(bind=src) as s_session, Session(bind=dst) as d_session:
        theirs, ours = audit.verify_chain(s_session), audit.verify_chain(d_session)
    if not ours.ok:
        diffs.append(f"audit chain of the target: {ours.problem} (entry {ours.first_bad_id})")
        return f"broken at entry {ours.first_bad_id}: {ours.problem}"
    if (ours.count, ours.head) != (theirs.count, theirs.head):
        diffs.append(
            f"audit chain: {theirs.count} entries ending in {theirs.head} in the source,"
            f" {ours.count} ending in {ours.head} in the target"
        )
        return "differs from the source's"
    note = "" if theirs.ok else f" (the source's own chain is broken at entry {theirs.first_bad_id})"
    head = f", head {ours.head[:16]}…" if ours.head else ""
    return f"ok, {ours.count:,} entries{head}{note}"


__all__ = [
    "COPY",
    "CopyMismatch",
    "CopyReport",
    "TableCount",
    "compare_rows",
    "copy_desk",
    "not_empty_reasons",
    "public_url",
    "require_empty",
    "spread_ids",
]
