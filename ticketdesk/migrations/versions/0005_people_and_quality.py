"""people and quality: audit log, CSAT surveys, QA reviews, knowledge base

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00

The knowledge base is searched like tickets: SQLite FTS5 with the trigram tokenizer
(external content, kept in sync by triggers), PostgreSQL a pg_trgm GIN index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KB_TEXT = ("title", "symptoms", "scope", "steps", "solution", "prevention", "tags")

SQLITE_KB = [
    f"CREATE VIRTUAL TABLE kb_fts USING fts5({', '.join(KB_TEXT)},"
    " content='kb_article', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER kb_fts_ai AFTER INSERT ON kb_article BEGIN INSERT INTO kb_fts(rowid, {', '.join(KB_TEXT)})"
    f" VALUES (new.id, {', '.join('new.' + c for c in KB_TEXT)}); END",
    f"CREATE TRIGGER kb_fts_ad AFTER DELETE ON kb_article BEGIN INSERT INTO kb_fts(kb_fts, rowid, {', '.join(KB_TEXT)})"
    f" VALUES ('delete', old.id, {', '.join('old.' + c for c in KB_TEXT)}); END",
    f"CREATE TRIGGER kb_fts_au AFTER UPDATE OF {', '.join(KB_TEXT)} ON kb_article BEGIN"
    f" INSERT INTO kb_fts(kb_fts, rowid, {', '.join(KB_TEXT)})"
    f" VALUES ('delete', old.id, {', '.join('old.' + c for c in KB_TEXT)});"
    f" INSERT INTO kb_fts(rowid, {', '.join(KB_TEXT)}) VALUES (new.id, {', '.join('new.' + c for c in KB_TEXT)}); END",
]
POSTGRES_KB = [
    "CREATE INDEX ix_kb_search ON kb_article USING gin ((" + " || ' ' || ".join(KB_TEXT) + ") gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_login", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        *(
            sa.Column(name, sa.SmallInteger(), nullable=False)
            for name in ("speed", "efficiency", "attitude", "effectiveness", "overall")
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_table(
        "qa_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(100), nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sampled_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("checklist", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["sampled_by_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch", "ticket_id", name="uq_qa_review_batch_ticket"),
    )
    op.create_index("ix_qa_review_ticket_id", "qa_review", ["ticket_id"])
    op.create_table(
        "kb_article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        *(
            sa.Column(name, sa.Text(), nullable=False)
            for name in ("symptoms", "scope", "steps", "solution", "prevention")
        ),
        sa.Column("tags", sa.String(1000), nullable=False),
        sa.Column("source_ticket_id", BIG_ID, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.ForeignKeyConstraint(["source_ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for statement in SQLITE_KB if op.get_bind().dialect.name == "sqlite" else POSTGRES_KB:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("kb_fts_ai", "kb_fts_ad", "kb_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_kb_search")
    op.drop_table("kb_article")
    op.drop_index("ix_qa_review_ticket_id", table_name="qa_review")
    op.drop_table("qa_review")
    op.drop_table("survey")
    op.drop_index("ix_audit_log_action_at", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
