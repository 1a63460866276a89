"""merged-into index: the tickets merged into one, found without reading every ticket

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00

A ticket's thread includes the comments of the tickets merged into it
(store/tickets/detail.py), found by `ticket.merged_into_id = ?`. Without an index that was a
scan of the whole ticket table on every `show` and every ticket opened in the TUI (~0.25 s
at 1M tickets). Partial: only merged tickets have the column set, so the index stays tiny;
both SQLite and PostgreSQL use it for `merged_into_id = ?`, which implies the predicate.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MERGED = "merged_into_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_ticket_merged_into",
        "ticket",
        ["merged_into_id"],
        unique=False,
        sqlite_where=sa.text(MERGED),
        postgresql_where=sa.text(MERGED),
    )
    bind = op.get_bind()
    if (
        bind.dialect.name == "sqlite"
        and bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first()
    ):
        # the planner's figures for the new index, as migration 0003 gives its own
        op.execute("ANALYZE ix_ticket_merged_into")


def downgrade() -> None:
    op.drop_index("ix_ticket_merged_into", table_name="ticket")
