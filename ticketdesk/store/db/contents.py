"""What a database holds: the tables that make up a desk (not the database's own, not the
derived search indexes, not the migrations' table), their row counts, and whether the
database is "empty", i.e. a fit target for `ticketdesk copy` and `ticketdesk restore`
(store/db/copy.py, store/db/restore.py)."""

from __future__ import annotations

from sqlalchemy import Connection, func, inspect, select
from sqlmodel import SQLModel

from ticketdesk.store.db.errors import InvalidInput

#: Tables that migrations own: checked (same revision), never copied. The status tally
#: (PostgreSQL, migration 0014) is kept by the target's own triggers as the tickets arrive.
SCHEMA_TABLES = frozenset({"alembic_version", "ticket_status_tally"})
_FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")

#: Tables `ticketdesk init` fills (store/db/seed.py); their seeded rows do not make a desk "not empty".
SEEDED_TABLES = frozenset({"team", "ticket_type", "reply_template", "agent"})
_NOUNS = {"ticket": "tickets", "customer": "customers", "comment": "comments", "event": "events",
          "audit_log": "audit log entries", "organisation": "organisations"}  # fmt: skip


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


def quote_name(conn: Connection, name: str) -> str:
    """A table or column name quoted for this connection's dialect."""
    return conn.dialect.identifier_preparer.quote(name)


def count_rows(conn: Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {quote_name(conn, table)}").scalar() or 0)


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
    counts = {n: count_rows(conn, n) for n in desk_tables(conn)}
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


__all__ = [
    "SCHEMA_TABLES",
    "SEEDED_TABLES",
    "count_rows",
    "desk_tables",
    "fts_tables",
    "not_empty_reasons",
    "quote_name",
    "require_empty",
]
