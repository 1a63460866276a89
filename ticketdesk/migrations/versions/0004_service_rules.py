"""service rules: SLA pauses, settings documents, rule firings, round-robin state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00

- ticket: `sla_paused_at` (set while pending / on hold), `sla_paused_seconds` (business
  time spent paused so far, added to the SLA targets) and `last_customer_reply_at`.
- team: `last_assigned_id`, where round-robin assignment continues from.
- setting: one JSON document per key ("sla": the SLA policy, "rules": routing, automations,
  team assignment and sweep settings), versioned like tickets so two editors cannot
  silently overwrite each other.
- rule_firing: one row per (rule, ticket, occurrence) that fired; its unique key is what
  makes a rule fire at most once per occurrence, also with two sweeps on two hosts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# as in 0003 (a migration keeps its own copy: later code may change)
OPEN_PREDICATE = "status IN ('new', 'open', 'in_progress', 'pending', 'on_hold')"
OPEN_COLUMNS = [
    "status",
    "priority",
    "team_id",
    "assignee_id",
    "created_at",
    "first_response_due",
    "first_responded_at",
    "resolution_due",
    "resolved_at",
]

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy): instant on a big table, and the FTS triggers stay
    op.add_column("ticket", sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ticket", sa.Column("sla_paused_seconds", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("ticket", sa.Column("last_customer_reply_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("team", sa.Column("last_assigned_id", sa.Integer(), nullable=True))
    op.create_table(
        "setting",
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "rule_firing",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(120), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurrence", sa.String(200), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "ticket_id", "occurrence", name="uq_rule_firing"),
    )
    op.create_index("ix_rule_firing_ticket", "rule_firing", ["ticket_id"])
    # the open-tickets dashboard index also covers the pause (the SLA state reads it)
    _open_board_index([*OPEN_COLUMNS, "sla_paused_at"])


def downgrade() -> None:
    _open_board_index(OPEN_COLUMNS)
    op.drop_index("ix_rule_firing_ticket", table_name="rule_firing")
    op.drop_table("rule_firing")
    op.drop_table("setting")
    # native DROP COLUMN (SQLite >= 3.35): a batch copy of `ticket` would trip its foreign keys
    for table, column in (
        ("team", "last_assigned_id"),
        ("ticket", "last_customer_reply_at"),
        ("ticket", "sla_paused_seconds"),
        ("ticket", "sla_paused_at"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def _open_board_index(columns: list[str]) -> None:
    op.drop_index("ix_ticket_open_board", table_name="ticket")
    op.create_index(
        "ix_ticket_open_board",
        "ticket",
        columns,
        sqlite_where=sa.text(OPEN_PREDICATE),
        postgresql_where=sa.text(OPEN_PREDICATE),
    )
    bind = op.get_bind()
    if (
        bind.dialect.name == "sqlite"
        and bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first()
    ):
        op.execute("ANALYZE ix_ticket_open_board")
