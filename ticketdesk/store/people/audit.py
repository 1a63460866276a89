"""The audit log: append-only records of sensitive actions (and of refused ones).

There is deliberately no update or delete of an entry here: entries are only ever inserted.
A change and its audit entry are written in the same transaction (`record`), so an entry
exists exactly when the change does. A refusal (a failed permission check) rolls its
transaction back, so it is recorded afterwards in a short transaction of its own
(`record_apart`).

The entries form a hash chain (rules/audit_chain.py): each one carries the previous entry's
hash and SHA-256 over its own content and that hash, so `verify_chain` finds the first entry
that was changed, removed or reordered. The chain's end is the one-row `audit_head` table.

Concurrent writers never fork the chain: `record` only queues the entry on the session, and
just before the transaction commits (`_chain_pending`, a before_commit hook) the head row is
locked (PostgreSQL: SELECT ... FOR UPDATE; SQLite: a write to the head row first, so the
transaction holds the database's one write lock before it reads the head; `db.write()` takes
it at BEGIN IMMEDIATE already), the queued entries are given the next ids and chained after
the head, and the head is moved on. So the head lock is the last lock a transaction takes and
is held only while it commits: a long transaction (an import) that records an entry early
does not hold up every other audited writer, and the chain's order (id order) is the order
of the commits. An entry's `at` stays the time `record` was called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import Executable, Row, event, func, insert, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col

from ticketdesk.models import Agent
from ticketdesk.models.clock import utcnow
from ticketdesk.models.quality import AuditEntry, AuditHead
from ticketdesk.rules.audit_chain import entry_hash
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.tables import table_of

if TYPE_CHECKING:
    from ticketdesk.store.db.engine import Database

# Actions (the `action` column); exports and other areas may add their own names.
ROLE_CHANGE = "role_change"
AGENT_ADD = "agent_add"
AGENT_DEACTIVATE = "agent_deactivate"
AGENT_ACTIVATE = "agent_activate"
KEY_ADD = "key_add"
KEY_REMOVE = "key_remove"
MERGE = "merge"
UNMASK = "unmask"
SETTINGS_CHANGE = "settings_change"
RULES_CHANGE = "rules_change"
TEMPLATE_ADD = "template_add"
TEMPLATE_EDIT = "template_edit"
TEMPLATE_REMOVE = "template_remove"
EXPORT = "export"
PERMISSION_DENIED = "permission_denied"
#: a customer's personal data erased on request (store/people/erase.py); target "customer <id>", detail counts
CUSTOMER_ERASE = "customer_erase"

audit_log = table_of(AuditEntry)
audit_head = table_of(AuditHead)


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: str | None
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "ok": self.ok,
        }


class _Entry(TypedDict):
    """An entry as `record` queues it: its content, before it gets an id and its hashes."""

    at: datetime
    actor_id: int | None
    actor_login: str
    action: str
    target: str | None
    detail: str | None
    ok: bool


def _clip(value: str | None, size: int) -> str | None:
    return value if value is None or len(value) <= size else value[: size - 1] + "…"


def record(
    session: Session,
    *,
    actor: Agent | None,
    login: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    ok: bool = True,
    now: datetime | None = None,
) -> None:
    """Append one entry in the caller's transaction.

    The entry is written and chained when the transaction commits (see the module's
    docstring); inside a savepoint it is written at once, so rolling the savepoint back
    drops it."""
    action = (action or "").strip()
    if not action or len(action) > 50:
        raise InvalidInput("an audit action is one word of at most 50 characters")
    at = now or utcnow()
    if at.tzinfo is None:
        raise InvalidInput("an audit entry's time must be an aware datetime")
    values: _Entry = {
        "at": at,
        "actor_id": actor.id if actor is not None else None,
        "actor_login": _clip(actor.login if actor is not None else login, 100) or "",
        "action": action,
        "target": _clip(target, 200),
        "detail": detail,
        "ok": bool(ok),
    }
    session.connection()  # the entry belongs to this transaction: make sure there is one
    if session.in_nested_transaction():
        _append(session, [values])
    else:
        session.info.setdefault(_PENDING, []).append(values)


_PENDING = "ticketdesk_audit_pending"


@event.listens_for(OrmSession, "before_commit")
def _chain_pending(session: OrmSession) -> None:
    """Write the transaction's queued entries, chained after the head, as it commits."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.flush()  # the transaction's own changes first: the head lock comes last
        _append(session, pending)


@event.listens_for(OrmSession, "after_transaction_end")
def _drop_pending(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction is over (committed or rolled back)
        session.info.pop(_PENDING, None)


def _append(session: OrmSession, entries: list[_Entry]) -> None:
    """Lock the chain's head, insert the entries with the next ids chained after it, and move
    the head to the last of them; all in the caller's transaction."""
    last_id, prev = _lock_head(session)
    newest = session.execute(select(func.max(audit_log.c.id))).scalar()
    next_id = max(last_id, newest or 0) + 1
    rows: list[dict[str, object]] = []
    for values in entries:
        digest = entry_hash(id=next_id, prev_hash=prev, **values)
        rows.append({**values, "id": next_id, "prev_hash": prev, "hash": digest})
        prev, last_id, next_id = digest, next_id, next_id + 1
    session.execute(insert(audit_log), rows)
    session.execute(update(audit_head).where(audit_head.c.id == 1).values(last_id=last_id, hash=prev))


def _lock_head(session: OrmSession) -> tuple[int, str | None]:
    """Lock the head row until the transaction ends; (last id, last hash), or (0, None)
    before the first entry. The row is created by the first writer (or taken from the
    log's last entry when the log came without one, e.g. from a copy)."""
    row = _head_for_update(session)
    if row is None:
        # a placeholder only this transaction ever sees: it is moved on before commit; a
        # concurrent creator waits on the key, then finds the committed row
        placeholder: Executable
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            placeholder = pg_insert(audit_head).values(id=1, last_id=0, hash="").on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            placeholder = sqlite_insert(audit_head).values(id=1, last_id=0, hash="").on_conflict_do_nothing()
        session.execute(placeholder)
        row = _head_for_update(session)
        assert row is not None
    if row.hash == "":
        tail = session.execute(
            select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        ).first()
        return (tail.id, tail.hash) if tail is not None else (0, None)
    return row.last_id, row.hash


def _head_for_update(session: OrmSession) -> Row[Any] | None:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write takes the database's single write lock (already
        # held after BEGIN IMMEDIATE; a deferred transaction whose snapshot is stale is
        # refused here rather than reading an old head), so the read below is the newest.
        session.execute(update(audit_head).where(audit_head.c.id == 1).values(last_id=audit_head.c.last_id))
        return session.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    return session.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()


def record_apart(db: Database, *, login: str, action: str, target: str | None, detail: str) -> None:
    """Append a refusal in its own short transaction (the refused one was rolled back)."""
    with db.write() as session:
        actor = session.scalars(select(Agent).where(col(Agent.login) == login)).one_or_none()
        record(session, actor=actor, login=login, action=action, target=target, detail=detail, ok=False)


def entries(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditView]:
    """The newest entries first, filtered."""
    stmt = select(audit_log)
    if action:
        stmt = stmt.where(audit_log.c.action == action.strip())
    if actor:
        stmt = stmt.where(audit_log.c.actor_login == actor.strip())
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    stmt = stmt.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    return [
        AuditView(
            id=r.id, at=r.at, actor=r.actor_login, action=r.action, target=r.target, detail=r.detail, ok=bool(r.ok)
        )
        for r in session.execute(stmt)
    ]


# --- verifying the chain ---------------------------------------------------------------------

VERIFY_BATCH = 2000


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    count: int
    head: str | None  # hash of the last entry (None when the log is empty)
    first_bad_id: int | None  # id of the first entry that does not verify
    problem: str | None  # one line: "entry 17 was changed", "entry 17 is missing (…)", …

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "count": self.count,
            "head": self.head,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
        }


def verify_chain(session: Session, *, expect_head: str | None = None, expect_count: int | None = None) -> ChainCheck:
    """Check the whole chain in id order, a batch at a time (the log never sits in memory),
    and stop at the first entry that was changed, removed or reordered.

    On success `count` is the number of entries and `head` the last one's hash; on failure
    `count` is the number of entries read up to the bad one, and `head` the hash of the last
    entry that verified. The `audit_head` row must agree with the log's end (a deleted last
    entry shows there, unless the head row was changed as well).

    A chain alone cannot tell that its newest entries were cut off together with the head
    row: that is what an anchor kept outside the database is for. `expect_head` (a hash an
    earlier verify printed) must be in the chain, and with `expect_count` (the count printed
    with it) it must be the entry at that position; the log must have at least that many.
    """
    # Read the head before the log: entries appended meanwhile only come after it.
    head_row = session.execute(select(audit_head.c.last_id, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    head_last_id = head_row.last_id if head_row is not None else None
    count = 0
    prev_id: int | None = None
    prev_hash: str | None = None
    head_entry_hash: str | None = None
    anchor_seen = False

    def bad(first_bad_id: int | None, problem: str) -> ChainCheck:
        return ChainCheck(ok=False, count=count, head=prev_hash, first_bad_id=first_bad_id, problem=problem)

    columns = [
        audit_log.c.id, audit_log.c.at, audit_log.c.actor_id, audit_log.c.actor_login, audit_log.c.action,
        audit_log.c.target, audit_log.c.detail, audit_log.c.ok, audit_log.c.prev_hash, audit_log.c.hash,
    ]  # fmt: skip
    while True:
        stmt = select(*columns).order_by(audit_log.c.id).limit(VERIFY_BATCH)
        if prev_id is not None:
            stmt = stmt.where(audit_log.c.id > prev_id)
        rows = session.execute(stmt).all()
        if not rows:
            break
        for entry_id, at, actor_id, actor_login, action, target, detail, ok, chained_after, digest in rows:
            count += 1
            expected = entry_hash(
                id=entry_id, at=at, actor_id=actor_id, actor_login=actor_login, action=action,
                target=target, detail=detail, ok=bool(ok), prev_hash=chained_after,
            )  # fmt: skip
            if digest != expected:
                return bad(entry_id, f"entry {entry_id} was changed: its content does not match its hash")
            if chained_after != prev_hash:
                return bad(*_broken_link(entry_id, prev_id, chained_after))
            if entry_id == head_last_id:
                head_entry_hash = digest
            if expect_head is not None:
                if digest == expect_head:
                    anchor_seen = True
                elif count == expect_count:
                    return bad(
                        entry_id,
                        f"entry {entry_id} is not the anchored entry {expect_count} (hash {expect_head[:12]}…):"
                        " the log was rewritten up to here",
                    )
            prev_id, prev_hash = entry_id, digest
    if head_row is not None:
        if prev_id is None or prev_id < head_row.last_id:
            after = (prev_id or 0) + 1
            return bad(
                after,
                _missing(after, head_row.last_id) + f": {_end(prev_id)}, the head records entry {head_row.last_id}",
            )
        if head_entry_hash is None:
            return bad(head_row.last_id, f"entry {head_row.last_id} is missing: the head records it as written")
        if head_entry_hash != head_row.hash:
            return bad(
                head_row.last_id, f"entry {head_row.last_id} was changed: its hash is not the one the head records"
            )
    if expect_count is not None and count < expect_count:
        return bad(
            (prev_id or 0) + 1,
            f"{_missing_after(prev_id)}: {_end(prev_id)} with {count} entries, the anchor counted {expect_count}",
        )
    if expect_head is not None and not anchor_seen:
        return bad(
            (prev_id or 0) + 1,
            f"{_missing_after(prev_id)}, or the log was rewritten: the anchored head {expect_head[:12]}… is"
            f" not in it ({_end(prev_id)})",
        )
    return ChainCheck(ok=True, count=count, head=prev_hash, first_bad_id=None, problem=None)


def _broken_link(entry_id: int, prev_id: int | None, chained_after: str | None) -> tuple[int, str]:
    """An entry that verifies by itself but was not chained after the entry before it."""
    if prev_id is None:
        if chained_after is None or entry_id <= 1:
            return entry_id, f"entry {entry_id} was changed: it claims a predecessor but is the first entry"
        return 1, f"{_missing(1, entry_id - 1)}: entry {entry_id} is the first in the log but was chained after another"
    if chained_after is None:
        return entry_id, (
            f"entry {entry_id} was chained as the first entry but follows entry {prev_id}"
            " (entries were added before it, or it was moved)"
        )
    if entry_id - prev_id > 1:
        return (
            prev_id + 1,
            f"{_missing(prev_id + 1, entry_id - 1)}: entry {entry_id} was not chained after entry {prev_id}",
        )
    return (
        prev_id,
        f"entry {prev_id} was replaced, or entries were reordered: entry {entry_id} was chained after another",
    )


def _missing(first: int, last: int) -> str:
    return f"entry {first} is missing" if first >= last else f"entries {first} to {last} are missing (or some of them)"


def _missing_after(prev_id: int | None) -> str:
    return "entries are missing" if prev_id is None else f"entries after entry {prev_id} are missing"


def _end(prev_id: int | None) -> str:
    return "the log is empty" if prev_id is None else f"the log ends at entry {prev_id}"
