"""audit chain: a hash over each audit entry and the one before it, and the chain's head row

The entries written before this revision are chained here, in id order, with the same
encoding the store uses (ticketdesk/rules/audit_chain.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ticketdesk.models.types import UTCDateTime
from ticketdesk.rules.audit_chain import entry_hash

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 5000

audit_log = sa.table(
    "audit_log",
    sa.column("id", BIG_ID),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Integer()),
    sa.column("actor_login", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("ok", sa.Boolean()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
audit_head = sa.table("audit_head", sa.column("id", sa.Integer()), sa.column("last_id", BIG_ID), sa.column("hash"))


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", BIG_ID, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_head_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    last = _chain_existing_entries(op.get_bind())
    if last is not None:
        op.execute(audit_head.insert().values(id=1, last_id=last[0], hash=last[1]))
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)


def _chain_existing_entries(conn: sa.Connection) -> tuple[int, str] | None:
    """Hash every entry in id order, a batch at a time (a long log never sits in memory);
    returns the last entry's id and hash."""
    prev: str | None = None
    last_id: int | None = None
    while True:
        stmt = sa.select(audit_log).order_by(audit_log.c.id).limit(BATCH)
        if last_id is not None:
            stmt = stmt.where(audit_log.c.id > last_id)
        rows = conn.execute(stmt).all()
        if not rows:
            break
        updates = []
        for r in rows:
            digest = entry_hash(
                id=r.id, at=r.at, actor_id=r.actor_id, actor_login=r.actor_login, action=r.action,
                target=r.target, detail=r.detail, ok=bool(r.ok), prev_hash=prev,
            )  # fmt: skip
            updates.append({"b_id": r.id, "b_prev": prev, "b_hash": digest})
            prev, last_id = digest, r.id
        conn.execute(
            audit_log.update()
            .where(audit_log.c.id == sa.bindparam("b_id"))
            .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")),
            updates,
        )
    return None if last_id is None or prev is None else (last_id, prev)


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
