"""PostgreSQL: the tickets per status kept as a running tally

The lead's dashboard counts the finished tickets per status. SQLite answers a bare
`count(*)` from its index pages' headers; PostgreSQL has to walk the finished tickets' index
entries, ~0.9 of the table (65 ms at 1M tickets, growing with the desk's whole history).

`ticket_status_tally` holds signed counts: a statement that inserts, deletes or changes the
status of tickets appends one row per status it moved (statement-level triggers reading the
statement's transition tables, so a COPY of 100,000 tickets or a batch update of 1,000 adds a
row per status among them, not one per ticket). The count of a status is the sum of its rows. Rows are only
ever appended, never updated, so concurrent writers never wait on each other here (a single
counter row per status would queue every creator and status change on it, and could
deadlock two batches). `store/tickets/status_tally.py` sums and folds them (the sweep folds
the rows into one per status).

SQLite has nothing here: its count is already cheap.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: (trigger event, its transition tables, the signed count per status it appends)
_CHANGES = (
    ("INSERT", "NEW TABLE AS tally_new", "SELECT status, count(*) FROM tally_new GROUP BY status"),
    ("DELETE", "OLD TABLE AS tally_old", "SELECT status, -count(*) FROM tally_old GROUP BY status"),
    (
        "UPDATE",
        "OLD TABLE AS tally_old NEW TABLE AS tally_new",
        "SELECT status, sum(n) FROM ("
        " SELECT o.status, -1 AS n FROM tally_old o JOIN tally_new w ON w.id = o.id WHERE o.status <> w.status"
        " UNION ALL"
        " SELECT w.status, 1 FROM tally_old o JOIN tally_new w ON w.id = o.id WHERE o.status <> w.status"
        ") AS moved GROUP BY status",
    ),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        "CREATE TABLE ticket_status_tally (id BIGSERIAL PRIMARY KEY, status VARCHAR NOT NULL, n BIGINT NOT NULL)"
    )
    for event, tables, counts in _CHANGES:
        name = f"ticketdesk_tally_{event.lower()}"
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" INSERT INTO ticket_status_tally (status, n) {counts}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER ticket_tally_{event.lower()} AFTER {event} ON ticket REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    # the tickets already there (CREATE TRIGGER locked out writers until this commits)
    op.execute("INSERT INTO ticket_status_tally (status, n) SELECT status, count(*) FROM ticket GROUP BY status")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for event, _, _ in _CHANGES:
        op.execute(f"DROP TRIGGER IF EXISTS ticket_tally_{event.lower()} ON ticket")
        op.execute(f"DROP FUNCTION IF EXISTS ticketdesk_tally_{event.lower()}()")
    op.execute("DROP TABLE IF EXISTS ticket_status_tally")
