"""The verification of a copy (store/db/copy.py), run in the target's transaction before it
commits: the row counts of every table, the schema revision, the audit chain, and the rows
themselves, whole for small tables and by sample (tickets spread over the id range, with
the rows of every table that refers to them) for big ones, compared field by field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, select
from sqlmodel import Session

from ticketdesk.store.db.contents import count_rows
from ticketdesk.store.db.copy_plan import TablePlan

#: Tickets compared field by field (spread over the id range, plus the first and the last).
SAMPLE_TICKETS = 200
#: Tables with at most this many rows are compared whole; bigger ones by sample.
WHOLE_TABLE_ROWS = 50_000


@dataclass(frozen=True)
class TableCount:
    name: str
    source: int
    target: int


@dataclass
class Verification:
    """What `verify` found; the copy's report carries it (store/db/copy.py `CopyReport`)."""

    tables: list[TableCount] = field(default_factory=list)
    chain: str = ""
    sampled: int = 0
    differences: list[str] = field(default_factory=list)


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    shown = repr(value.isoformat() if isinstance(value, datetime) else value)
    return shown if len(shown) <= 60 else shown[:57] + "…"


def compare_rows(
    label: str, source: Sequence[Mapping[str, Any]], target: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> list[str]:
    """The differences between two sets of rows of one table, matched by `key`: a row
    missing on either side, or a field whose values differ (datetimes compared as instants)."""
    differences: list[str] = []

    def keyed(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, ...], Mapping[str, Any]]:
        return {tuple(_norm(r[k]) for k in key): r for r in rows}

    a, b = keyed(source), keyed(target)

    def name(k: tuple[Any, ...]) -> str:
        return f"{label} {', '.join(f'{c}={v}' for c, v in zip(key, k, strict=True))}"

    for k in a.keys() - b.keys():
        differences.append(f"{name(k)} is missing in the target")
    for k in b.keys() - a.keys():
        differences.append(f"{name(k)} is in the target but not in the source")
    for k in sorted(a.keys() & b.keys(), key=repr):
        left, right = a[k], b[k]
        for column in sorted(set(left.keys()) | set(right.keys())):
            if column not in right:
                differences.append(f"{name(k)}: column {column} is missing in the target")
            elif column not in left:
                differences.append(f"{name(k)}: column {column} is missing in the source")
            elif _norm(left[column]) != _norm(right[column]):
                differences.append(
                    f"{name(k)}: {column} is {_show(left[column])} in the source, {_show(right[column])} in the target"
                )
    return sorted(differences)


def _rows(conn: Connection, plan: TablePlan, where: ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    stmt = select(plan.table)
    if where is not None:
        stmt = stmt.where(where)
    stmt = stmt.order_by(*[plan.table.c[c] for c in plan.pk])
    return [dict(r._mapping) for r in conn.execute(stmt)]


def spread_ids(conn: Connection, table: Table, column: str, n: int) -> list[Any]:
    """About `n` ids spread evenly over the id range, with the first and the last."""
    col = table.c[column]
    low, high = conn.execute(select(func.min(col), func.max(col))).one()
    if low is None:
        return []
    ids = {low, high}
    if n > 0 and high > low:
        step = (high - low) / n
        for i in range(1, n):
            found = conn.execute(select(func.min(col)).where(col >= low + int(i * step))).scalar()
            if found is not None:
                ids.add(found)
    return sorted(ids)


def verify(
    src: Connection, dst: Connection, plans: Sequence[TablePlan], counts: Mapping[str, int], *, sample: int
) -> Verification:
    """Compare the target with the source (see the module docstring)."""
    found = Verification()
    diffs = found.differences
    for plan in plans:
        got = count_rows(dst, plan.name)
        found.tables.append(TableCount(plan.name, counts[plan.name], got))
        if got != counts[plan.name]:
            diffs.append(f"{plan.name}: {counts[plan.name]:,} rows in the source, {got:,} in the target")
    if current_revision_of(src) != current_revision_of(dst):
        diffs.append(
            f"schema revision {current_revision_of(src)} in the source, {current_revision_of(dst)} in the target"
        )
    found.chain = _verify_chains(src, dst, diffs)
    by_name = {p.name: p for p in plans}
    sampled: list[Any] = []
    if "ticket" in by_name:
        ticket = by_name["ticket"]
        sampled = spread_ids(src, ticket.table, "id", sample)
        found.sampled = len(sampled)
    for plan in plans:
        t = plan.table
        if counts[plan.name] <= WHOLE_TABLE_ROWS:
            diffs += compare_rows(plan.name, _rows(src, plan), _rows(dst, plan), plan.pk)
            continue
        if plan.name == "ticket" or plan.ticket_refs:
            # the sampled tickets, and for each table that refers to tickets, the rows of those tickets
            cols = ["id"] if plan.name == "ticket" else plan.ticket_refs
            for column in cols:
                for start in range(0, len(sampled), 500):
                    chunk = sampled[start : start + 500]
                    cond = t.c[column].in_(chunk)
                    diffs += compare_rows(
                        f"{plan.name} ({column} sampled)", _rows(src, plan, cond), _rows(dst, plan, cond), plan.pk
                    )
        elif len(plan.pk) == 1:
            ids = spread_ids(src, t, plan.pk[0], sample)
            cond = t.c[plan.pk[0]].in_(ids)
            diffs += compare_rows(f"{plan.name} (sampled)", _rows(src, plan, cond), _rows(dst, plan, cond), plan.pk)
    return found


def current_revision_of(conn: Connection) -> str | None:
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _verify_chains(src: Connection, dst: Connection, diffs: list[str]) -> str:
    """The audit hash chain (store/people/audit.py `verify_chain`) checked on the target and
    compared with the source's."""
    from ticketdesk.store.people import audit

    with Session(bind=src) as s_session, Session(bind=dst) as d_session:
        theirs, ours = audit.verify_chain(s_session), audit.verify_chain(d_session)
    if not ours.ok:
        diffs.append(f"audit chain of the target: {ours.problem} (entry {ours.first_bad_id})")
        return f"broken at entry {ours.first_bad_id}: {ours.problem}"
    if (ours.count, ours.head) != (theirs.count, theirs.head):
        diffs.append(
            f"audit chain: {theirs.count} entries ending in {theirs.head} in the source,"
            f" {ours.count} ending in {ours.head} in the target"
        )
        return "differs from the source's"
    note = "" if theirs.ok else f" (the source's own chain is broken at entry {theirs.first_bad_id})"
    head = f", head {ours.head[:16]}…" if ours.head else ""
    return f"ok, {ours.count:,} entries{head}{note}"
