"""Copy a whole desk to another database (`ticketdesk copy --to URL`).

The copy reads the source in one snapshot (a deferred read transaction on SQLite, which WAL
lets writers work past; REPEATABLE READ on PostgreSQL), so agents keep working while it
runs and the copy is the desk as it was at one instant. The target is migrated to the same
schema revision (not seeded) and must be empty (store/db/contents.py); everything is then
written in ONE target transaction: every table in foreign-key order (store/db/copy_plan.py)
with its ids, numbers and counters, in bulk (store/db/copy_load.py), PostgreSQL sequences
moved past the ids, search indexes rebuilt, ANALYZE, and a verification
(store/db/copy_verify.py: row counts of every table, the audit chain, a sample of tickets
with their tags, comments, events, links, mail and attachments compared field by field).
Any difference rolls the whole copy back, so a target is either a verified copy or still
empty.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ticketdesk.store.db.contents import count_rows, require_empty
from ticketdesk.store.db.copy_load import Loader, Progress, copy_table
from ticketdesk.store.db.copy_plan import TablePlan, plan_tables
from ticketdesk.store.db.copy_verify import SAMPLE_TICKETS, TableCount, verify
from ticketdesk.store.db.engine import (
    Database,
    _known_revision,
    _safe_url,
    current_revision,
    head_revision,
    upgrade_schema,
)
from ticketdesk.store.db.errors import InvalidInput, SchemaNotReady, StoreError

#: The audit action recorded on the source (store/desk.py `copy_to`).
COPY = "copy"


@dataclass
class CopyReport:
    source: str
    target: str
    revision: str
    tables: list[TableCount] = field(default_factory=list)
    chain: str = ""
    sampled: int = 0
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def tickets(self) -> int:
        return next((t.target for t in self.tables if t.name == "ticket"), 0)

    @property
    def rows(self) -> int:
        return sum(t.target for t in self.tables)


class CopyMismatch(StoreError):
    """The verification found differences; the target transaction was rolled back."""

    def __init__(self, report: CopyReport) -> None:
        n = len(report.differences)
        super().__init__(
            f"the copy to {report.target} did not verify ({n} difference{'s' if n != 1 else ''}, first:"
            f" {report.differences[0]}); nothing was written to the target"
        )
        self.report = report


def public_url(url: str) -> str:
    """The URL without its password (for messages and the audit log)."""
    try:
        # URL.set(password=None) means "leave it": replace the field itself
        return make_url(url)._replace(password=None).render_as_string(hide_password=False)
    except ArgumentError:
        return _safe_url(url)


def check_target_revision(db: Database) -> str | None:
    """The target's revision, refusing one newer than this ticketdesk knows."""
    current = current_revision(db)
    if current is not None and current != head_revision() and not _known_revision(current):
        raise SchemaNotReady(
            f"database {public_url(db.url)} has schema revision {current}, newer than this ticketdesk knows:"
            " upgrade ticketdesk first"
        )
    return current


@contextmanager
def source_snapshot(db: Database) -> Iterator[Connection]:
    """One read transaction: every read in it sees the database as of one instant."""
    engine = db.engine
    if not db.is_sqlite:
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn, conn.begin() as txn:
        try:
            yield conn
        finally:
            txn.rollback()


def copy_desk(
    source: Database,
    target: Database,
    *,
    progress: Progress | None = None,
    sample: int = SAMPLE_TICKETS,
    what: str = "copy",
) -> CopyReport:
    """Copy every row of `source` into the empty `target` and verify it (see the module
    docstring). Raises InvalidInput for a non-empty target, CopyMismatch when the
    verification finds a difference (then nothing stays written)."""
    started = time.perf_counter()
    if _same_database(source.url, target.url):
        raise InvalidInput("the source and the target are the same database")
    revision = current_revision(source)
    if revision != head_revision():
        raise SchemaNotReady(
            f"the source is at schema revision {revision}, this ticketdesk needs {head_revision()}: run"
            " `ticketdesk init` on it first"
        )
    where = public_url(target.url)
    check_target_revision(target)
    with target.engine.connect() as conn:
        require_empty(conn, where=where, what=what)
    upgrade_schema(target)  # the schema only: no seed rows
    report = CopyReport(source=public_url(source.url), target=where, revision=revision or "")
    write_engine = target.engine.execution_options(ticketdesk_write=True)  # BEGIN IMMEDIATE on SQLite
    with source_snapshot(source) as src, write_engine.connect() as dst:
        txn = dst.begin()
        try:
            require_empty(dst, where=where, what=what)  # again, now that we hold the write transaction
            plans = plan_tables(src, dst)
            counts = {p.name: count_rows(src, p.name) for p in plans}
            _clear_seed_rows(dst, plans)
            loader = Loader(dst)
            loader.before()
            for plan in plans:
                copy_table(src, loader, plan, counts[plan.name], progress)
            loader.after(plans)
            found = verify(src, dst, plans, counts, sample=sample)
            report.tables, report.chain, report.sampled = found.tables, found.chain, found.sampled
            report.differences = found.differences
            if not report.ok:
                raise CopyMismatch(report)
            txn.commit()
        except BaseException:
            txn.rollback()
            raise
    report.seconds = time.perf_counter() - started
    return report


def _same_database(a: str, b: str) -> bool:
    try:
        ua, ub = make_url(a), make_url(b)
    except ArgumentError:
        return a == b
    if ua.get_backend_name() != ub.get_backend_name():
        return False
    if ua.get_backend_name() == "sqlite":
        pa, pb = ua.database or "", ub.database or ""
        if not pa or not pb or ":memory:" in (pa, pb):
            return False
        return Path(pa).expanduser().resolve() == Path(pb).expanduser().resolve()
    return (ua.host or "localhost", ua.port or 5432, ua.database) == (
        ub.host or "localhost",
        ub.port or 5432,
        ub.database,
    )


def _clear_seed_rows(dst: Connection, plans: Sequence[TablePlan]) -> None:
    """Remove what `init` seeded (the target was checked to hold nothing else)."""
    for plan in reversed(plans):
        if count_rows(dst, plan.name):
            dst.execute(plan.table.delete())


__all__ = [
    "COPY",
    "CopyMismatch",
    "CopyReport",
    "check_target_revision",
    "copy_desk",
    "public_url",
    "source_snapshot",
]
