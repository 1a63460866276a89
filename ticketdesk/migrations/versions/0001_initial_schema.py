"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:32:51.237336
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "ticket_counter",
        sa.Column("period", sa.String(6), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period"),
    )
    op.create_table(
        "ticket_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("skills", sa.String(1000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
    )
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_team_id"), ["team_id"], unique=False)

    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(50), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "ticket",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("support_level", sa.String(2), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["agent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["ticket.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_assignee_queue",
            ["assignee_id", "status", "priority", sa.text("updated_at DESC"), sa.text("id DESC")],
            unique=False,
        )
        batch_op.create_index("ix_ticket_created", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_ticket_priority_updated", ["priority", sa.text("updated_at DESC"), sa.text("id DESC")], unique=False
        )
        batch_op.create_index(
            "ix_ticket_status_queue",
            ["status", "priority", sa.text("updated_at DESC"), sa.text("id DESC")],
            unique=False,
        )
        batch_op.create_index(
            "ix_ticket_team_queue",
            ["team_id", "status", "priority", sa.text("updated_at DESC"), sa.text("id DESC")],
            unique=False,
        )
        batch_op.create_index("ix_ticket_updated", ["updated_at", "id"], unique=False)

    op.create_table(
        "comment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["agent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comment_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("field", sa.String(50), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("ticket_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["agent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("other_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["agent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["other_id"],
            ["ticket.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "other_id", "kind", name="uq_ticket_link"),
    )
    with op.batch_alter_table("ticket_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_link_other_id"), ["other_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_link_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_tag",
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tag.id"],
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "tag_id"),
    )
    with op.batch_alter_table("ticket_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_tag_tag_id"), ["tag_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_search()
    else:
        _create_postgres_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH_DROP:
            op.execute(statement)
    with op.batch_alter_table("ticket_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_tag_tag_id"))

    op.drop_table("ticket_tag")
    with op.batch_alter_table("ticket_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_link_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_link_other_id"))

    op.drop_table("ticket_link")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_ticket_id"))

    op.drop_table("event")
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_ticket_id"))

    op.drop_table("comment")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_updated")
        batch_op.drop_index("ix_ticket_team_queue")
        batch_op.drop_index("ix_ticket_status_queue")
        batch_op.drop_index("ix_ticket_priority_updated")
        batch_op.drop_index(batch_op.f("ix_ticket_customer_id"))
        batch_op.drop_index("ix_ticket_created")
        batch_op.drop_index("ix_ticket_assignee_queue")

    op.drop_table("ticket")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_organisation_id"))

    op.drop_table("customer")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_team_id"))

    op.drop_table("agent")
    op.drop_table("ticket_type")
    op.drop_table("ticket_counter")
    op.drop_table("team")
    op.drop_table("tag")
    op.drop_table("organisation")


# Full-text search. SQLite: FTS5 external-content tables with the trigram tokenizer (CJK
# text is findable by any 3-character fragment), kept in sync by triggers that fire only
# when the indexed columns change. PostgreSQL: pg_trgm GIN indexes serving ILIKE.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(number, subject, description,"
    " content='ticket', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER ticket_fts_ai AFTER INSERT ON ticket BEGIN"
    " INSERT INTO ticket_fts(rowid, number, subject, description)"
    " VALUES (new.id, new.number, new.subject, new.description); END",
    "CREATE TRIGGER ticket_fts_ad AFTER DELETE ON ticket BEGIN"
    " INSERT INTO ticket_fts(ticket_fts, rowid, number, subject, description)"
    " VALUES ('delete', old.id, old.number, old.subject, old.description); END",
    "CREATE TRIGGER ticket_fts_au AFTER UPDATE OF number, subject, description ON ticket BEGIN"
    " INSERT INTO ticket_fts(ticket_fts, rowid, number, subject, description)"
    " VALUES ('delete', old.id, old.number, old.subject, old.description);"
    " INSERT INTO ticket_fts(rowid, number, subject, description)"
    " VALUES (new.id, new.number, new.subject, new.description); END",
    "CREATE VIRTUAL TABLE comment_fts USING fts5(body, content='comment', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER comment_fts_ai AFTER INSERT ON comment BEGIN"
    " INSERT INTO comment_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER comment_fts_ad AFTER DELETE ON comment BEGIN"
    " INSERT INTO comment_fts(comment_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER comment_fts_au AFTER UPDATE OF body ON comment BEGIN"
    " INSERT INTO comment_fts(comment_fts, rowid, body) VALUES ('delete', old.id, old.body);"
    " INSERT INTO comment_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE VIRTUAL TABLE customer_fts USING fts5(name, email,"
    " content='customer', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER customer_fts_ai AFTER INSERT ON customer BEGIN"
    " INSERT INTO customer_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END",
    "CREATE TRIGGER customer_fts_ad AFTER DELETE ON customer BEGIN"
    " INSERT INTO customer_fts(customer_fts, rowid, name, email)"
    " VALUES ('delete', old.id, old.name, old.email); END",
    "CREATE TRIGGER customer_fts_au AFTER UPDATE OF name, email ON customer BEGIN"
    " INSERT INTO customer_fts(customer_fts, rowid, name, email)"
    " VALUES ('delete', old.id, old.name, old.email);"
    " INSERT INTO customer_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END",
]

SQLITE_SEARCH_DROP = [
    f"DROP {kind} IF EXISTS {name}"
    for kind, names in (
        ("TRIGGER", [f"{t}_fts_{s}" for t in ("ticket", "comment", "customer") for s in ("ai", "ad", "au")]),
        ("TABLE", ["ticket_fts", "comment_fts", "customer_fts"]),
    )
    for name in names
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_ticket_search ON ticket USING gin ((subject || ' ' || description) gin_trgm_ops)",
    "CREATE INDEX ix_comment_search ON comment USING gin (body gin_trgm_ops)",
    "CREATE INDEX ix_customer_search ON customer USING gin ((name || ' ' || coalesce(email, '')) gin_trgm_ops)",
]


def _create_sqlite_search() -> None:
    for statement in SQLITE_SEARCH:
        op.execute(statement)


def _create_postgres_search() -> None:
    for statement in POSTGRES_SEARCH:
        op.execute(statement)
