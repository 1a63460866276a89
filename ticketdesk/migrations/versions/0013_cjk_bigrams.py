"""bigram indexes for two-character Chinese search words

A two-character word (打印, 退款, a customer's name) has no trigram, so the search tested it
with LIKE on every ticket, comment and customer: 1.7 s at 1M tickets. These indexes hold
every pair of neighbouring CJK characters (rules/cjk_bigrams.py says why that finds exactly
what LIKE finds).

SQLite: FTS5 tables whose external content is a view computing the pairs with the SQL
function `ticketdesk_bigrams` (registered on each connection by store/db/engine.py), kept in
sync by triggers like the trigram tables' (and so suspended and rebuilt like them by the
bulk loads and `copy`). `detail=none, columnsize=0`: a lookup is one token, so no positions
or lengths are kept, and a text without CJK costs nothing.

PostgreSQL: a function computing the same pairs as an array, and GIN indexes on it over the
trigram indexes' own expressions.

A later SQLite migration that rebuilds `ticket`, `comment` or `customer` (Alembic's batch
mode) must drop these views and triggers first and make them again after: SQLite refuses
to rename a table a view names.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: rules/cjk_bigrams.REGEX_CLASS as it was when this migration was written (a test checks
#: that they agree; changing the ranges needs a migration of its own, see that module).
CJK_CLASS = (
    "\\U00003005-\\U00003007\\U00003041-\\U00003096\\U0000309d-\\U0000309f\\U000030a1-\\U000030fa"
    "\\U000030fc-\\U000030ff\\U00003400-\\U00004dbf\\U00004e00-\\U00009fff\\U0000ac00-\\U0000d7a3"
    "\\U0000f900-\\U0000faff\\U00020000-\\U000323af"
)

#: (table, its text columns as the search reads them)
INDEXED = (
    ("ticket", ("subject", "description")),
    ("comment", ("body",)),
    ("customer", ("name", "email")),
)


def _sqlite_statements(table: str, columns: tuple[str, ...]) -> list[str]:
    fts, source = f"{table}_bigram", f"{table}_bigram_source"

    def grams(row: str) -> str:
        return f"ticketdesk_bigrams({', '.join(f'{row}.{c}' for c in columns)})"

    return [
        f"CREATE VIEW {source} AS SELECT id, {grams(table)} AS grams FROM {table}",
        f"CREATE VIRTUAL TABLE {fts} USING fts5(grams, content='{source}', content_rowid='id',"
        " detail='none', columnsize=0)",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN"
        f" INSERT INTO {fts}(rowid, grams) VALUES (new.id, {grams('new')}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, grams) VALUES ('delete', old.id, {grams('old')}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {', '.join(columns)} ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, grams) VALUES ('delete', old.id, {grams('old')});"
        f" INSERT INTO {fts}(rowid, grams) VALUES (new.id, {grams('new')}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


#: the pairs of a text as an array; each run of two or more CJK characters is cut into its
#: neighbouring pairs
POSTGRES_FUNCTION = (
    "CREATE FUNCTION ticketdesk_bigrams(t text) RETURNS text[]"
    " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$"
    " SELECT coalesce(array_agg(DISTINCT substr(r[1], i, 2)), '{}')"
    f" FROM regexp_matches(t, '[{CJK_CLASS}]{{2,}}', 'g') AS r, generate_series(1, length(r[1]) - 1) AS i"
    " $$"
)

#: the same expressions as the trigram indexes (migration 0001), so a search names them alike
POSTGRES_INDEXES = [
    "CREATE INDEX ix_ticket_bigrams ON ticket USING gin (ticketdesk_bigrams(subject || ' ' || description))",
    "CREATE INDEX ix_comment_bigrams ON comment USING gin (ticketdesk_bigrams(body))",
    "CREATE INDEX ix_customer_bigrams ON customer USING gin (ticketdesk_bigrams(name || ' ' || coalesce(email, '')))",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in INDEXED:
            for statement in _sqlite_statements(table, columns):
                op.execute(statement)
    else:
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_INDEXES:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, _ in INDEXED:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_bigram_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_bigram")
            op.execute(f"DROP VIEW IF EXISTS {table}_bigram_source")
    else:
        for table, _ in INDEXED:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_bigrams")
        op.execute("DROP FUNCTION IF EXISTS ticketdesk_bigrams(text)")
