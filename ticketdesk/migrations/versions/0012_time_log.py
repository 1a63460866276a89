"""time spent on tickets

`time_entry` holds one row per entry an agent logs (`w` on a ticket, `ticketdesk time log`):
the ticket, the agent, the minutes, an optional note and when it was logged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "time_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_time_entry_ticket_id", "time_entry", ["ticket_id"])
    op.create_index("ix_time_entry_agent_id", "time_entry", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_time_entry_agent_id", table_name="time_entry")
    op.drop_index("ix_time_entry_ticket_id", table_name="time_entry")
    op.drop_table("time_entry")
