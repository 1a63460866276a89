"""presence, and live change notifications on PostgreSQL

`presence` holds one row per open TUI (store/live/presence.py). On PostgreSQL, triggers send
NOTIFY ticketdesk, with the table's name as the payload, on every commit that changes
tickets, their history, comments, outgoing mail or who is where; the TUIs LISTEN on a
dedicated connection (store/live/change_feed.py). A heartbeat updates only
`presence.seen_at`, which no trigger watches: an idle desk sends no notifications. NOTIFY is
transactional (sent at commit, dropped on rollback) and PostgreSQL folds identical
notifications of one transaction into one, so a batch of 1,000 tickets wakes each TUI once.
SQLite has no NOTIFY: its TUIs watch `PRAGMA data_version` instead.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: (table, events, per statement or per row)
_NOTIFYING = (
    ("ticket", "INSERT OR UPDATE OR DELETE", "STATEMENT"),
    ("event", "INSERT", "STATEMENT"),
    ("comment", "INSERT OR UPDATE", "STATEMENT"),
    ("outbox", "INSERT OR UPDATE", "STATEMENT"),
    # per row: a heartbeat's sweep of expired rows deletes none most of the time, and a
    # statement trigger would fire for it anyway
    ("presence", "INSERT OR DELETE OR UPDATE OF place, ticket_number, activity", "ROW"),
)


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("place", sa.String(20), nullable=False),
        sa.Column("ticket_number", sa.String(40), nullable=True),
        sa.Column("activity", sa.String(10), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index("ix_presence_agent_id", "presence", ["agent_id"])
    op.create_index("ix_presence_seen_at", "presence", ["seen_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION ticketdesk_notify() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_notify('ticketdesk', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table, events, level in _NOTIFYING:
        op.execute(
            f"CREATE TRIGGER ticketdesk_notify_{table} AFTER {events} ON {table}"
            f" FOR EACH {level} EXECUTE FUNCTION ticketdesk_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _, _ in _NOTIFYING:
            op.execute(f"DROP TRIGGER ticketdesk_notify_{table} ON {table}")
        op.execute("DROP FUNCTION ticketdesk_notify()")
    op.drop_index("ix_presence_seen_at", table_name="presence")
    op.drop_index("ix_presence_agent_id", table_name="presence")
    op.drop_table("presence")
