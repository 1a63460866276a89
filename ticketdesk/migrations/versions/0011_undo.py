"""the undo log

`undo_entry` holds one row per change an agent may take back (store/tickets/undo.py): what
it did to each ticket, field by field, before and after. Undoing one writes the restoring
changes as events, like any change, and marks the entry undone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "undo_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("tickets", sa.Text(), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_undo_entry_actor_id", "undo_entry", ["actor_id"])


def downgrade() -> None:
    op.drop_index("ix_undo_entry_actor_id", table_name="undo_entry")
    op.drop_table("undo_entry")
