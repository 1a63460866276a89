"""dashboard indexes: open tickets (partial, covering) and resolutions by day

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00

Two indexes for the lead's dashboard (store/reports/dashboard.py):

- `ix_ticket_open_board`: a partial index over the open tickets only (a few % of a mature
  desk), holding every column the open-ticket panels read, so their one GROUP BY is a walk
  of this small index in its own order, no table rows and no sort. The predicate must stay
  word for word what the dashboard's query says (`status IN (...)` with these literals, in
  this order): SQLite uses a partial index only when the query repeats its WHERE term.
- `ix_ticket_status_resolved`: (status, resolved_at), so "finished tickets resolved on day
  D" is an index range (the created-per-day count already has `ix_ticket_created`).

SQLite: a new index without a `sqlite_stat1` row gets default estimates (an equality on
its first column "matches 10 rows"), and the planner then prefers it over the analysed
queue indexes. So where the ticket table has statistics, the new indexes get theirs here.
PostgreSQL: `upgrade_schema` runs ANALYZE after every migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

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


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_open_board",
            OPEN_COLUMNS,
            unique=False,
            sqlite_where=sa.text(OPEN_PREDICATE),
            postgresql_where=sa.text(OPEN_PREDICATE),
        )
        batch_op.create_index("ix_ticket_status_resolved", ["status", "resolved_at"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and _sqlite_has_ticket_stats(bind):
        op.execute("ANALYZE ix_ticket_open_board")
        op.execute("ANALYZE ix_ticket_status_resolved")


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_status_resolved")
        batch_op.drop_index("ix_ticket_open_board")


def _sqlite_has_ticket_stats(bind: sa.engine.Connection) -> bool:
    if bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first():
        return bind.execute(sa.text("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'ticket' LIMIT 1")).first() is not None
    return False
