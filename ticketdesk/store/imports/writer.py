"""The second pass of an import (store/imports/importer.py): the new records written in
batches, one transaction each, with Core bulk inserts (COPY on PostgreSQL): customers,
organisations, tags, tickets (numbered by their original month), comments, events and
the `import_ref` row that makes a re-import skip the ticket."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.models.enums import ACTIVE_STATUSES, Priority, Status
from ticketdesk.models.import_records import ImportedTicket
from ticketdesk.rules import numbering
from ticketdesk.rules.sla_policy import due_dates, pauses
from ticketdesk.store.db.bulk import BulkWriter, resume_fts_triggers, suspend_fts_triggers
from ticketdesk.store.imports.importer import BATCH, require_importer
from ticketdesk.store.imports.lookups import CHUNK, Lookups, desk_table, imported_ids
from ticketdesk.store.imports.validation import resolve_type
from ticketdesk.store.tickets.numbers import reserve_serials

#: Tickets imported before a fresh ANALYZE is worth it (`after_load`).
_ANALYZE_FROM = 5_000

_TICKET_COLUMNS = (
    "id", "number", "subject", "description", "type", "category", "priority", "status", "channel",
    "customer_id", "team_id", "assignee_id", "support_level", "resolution", "reopen_count",
    "first_response_due", "resolution_due", "created_at", "updated_at", "status_changed_at",
    "first_responded_at", "resolved_at", "closed_at", "version", "sla_paused_at", "sla_paused_seconds",
)  # fmt: skip
_COMMENT_COLUMNS = ("ticket_id", "kind", "author_id", "customer_id", "body", "created_at")
_EVENT_COLUMNS = ("ticket_id", "actor_id", "at", "kind", "field", "old", "new", "ticket_version")
_TAG_COLUMNS = ("ticket_id", "tag_id")
_REF_COLUMNS = ("source", "external_id", "ticket_id", "imported_at")


@dataclass
class Totals:
    imported: int = 0
    comments: int = 0
    already: int = 0
    customers: int = 0
    organisations: int = 0
    unmatched_agents: int = 0
    unmatched_groups: set[str] = field(default_factory=set)


def batches(records: Iterable[ImportedTicket], size: int = BATCH) -> Iterator[list[ImportedTicket]]:
    """The records in lists of `size`."""
    batch: list[ImportedTicket] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Writer:
    """Writes batches, one per transaction, keeping what it learned (ids of customers,
    organisations, tags) between them."""

    def __init__(self, *, source: str, now: datetime) -> None:
        self.source = source
        self.now = now
        self.look: Lookups | None = None
        self.totals = Totals()
        self.analyzed_at = 0  # tickets written when import_ref was last analysed

    def write(self, session: Session, actor: Agent, batch: list[ImportedTicket]) -> None:
        require_importer(actor)
        if self.look is None:
            self.look = Lookups.load(session)
        look = self.look
        self._keep_statistics(session)
        done = imported_ids(session, self.source, [t.external_id for t in batch])
        todo = [t for t in batch if t.external_id not in done]
        self.totals.already += len(batch) - len(todo)
        if not todo:
            return
        bulk = BulkWriter(session)
        dt = bulk.bind_datetime
        conn = session.connection()
        sqlite = conn.dialect.name == "sqlite"

        org_ids = self._organisations(session, {t.organisation for t in todo if t.organisation})
        customers = self._customers(session, todo, org_ids)
        tag_ids = self._tags(session, {tag for t in todo for tag in t.tags})

        todo.sort(key=lambda t: t.created_at)
        ids = _reserve_ids(session, "ticket", len(todo))
        numbers = _numbers(session, [numbering.period_of(t.created_at) for t in todo])

        tickets: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        comments: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        refs: list[tuple[Any, ...]] = []
        imported_at = dt(self.now)
        me = actor.id
        for t, tid, number in zip(todo, ids, numbers, strict=True):
            cust = customers.get(_customer_key(t.customer_email, t.customer_name))
            team = look.team(t.team) or look.team(t.team_hint)
            if t.team is None and t.team_hint and team is None:
                self.totals.unmatched_groups.add(t.team_hint)
            assignee = look.agent(t.assignee) if t.assignee else None
            if t.assignee and assignee is None:
                self.totals.unmatched_agents += 1
            team_id = team[0] if team else (assignee[1] if assignee else None)
            team_key = team[1] if team else self._team_key(team_id)
            ticket_type, type_fix = resolve_type(t, look.types)
            first_due = resolution_due = None
            if Status(t.status) in ACTIVE_STATUSES and look.policy is not None:
                clocks = due_dates(
                    look.policy, priority=Priority(t.priority), team=team_key, vip=bool(cust and cust[1]),
                    created_at=t.created_at,
                )  # fmt: skip
                first_due, resolution_due = dt(clocks.first_response_due), dt(clocks.resolution_due)
            created, updated = dt(t.created_at), dt(t.updated_at)
            tickets.append(
                (
                    tid, number, t.subject, t.description, ticket_type, t.category, t.priority, t.status, t.channel,
                    cust[0] if cust else None, team_id, assignee[0] if assignee else None, t.support_level,
                    t.resolution, 0, first_due, resolution_due, created, updated, updated,
                    _opt(dt, t.first_responded_at), _opt(dt, t.resolved_at), _opt(dt, t.closed_at), 1,
                    updated if pauses(t.status) else None, 0,
                )
            )  # fmt: skip
            origin = f"{self.source} {t.where}" if t.hashed_id else f"{self.source} #{t.external_id}"
            events.append((tid, me, created, "created", "number", None, number, 1))
            events.append((tid, me, imported_at, "imported", "source", None, origin, 1))
            for fix in t.repairs if type_fix is None else (*t.repairs, type_fix):
                said = fix.new if fix.new is not None else f"{fix.problem}: {fix.action}"
                events.append((tid, me, imported_at, "imported", fix.field[:50], fix.old, said, 1))
            for name in t.tags:
                tags.append((tid, tag_ids[name]))
                events.append((tid, me, created, "tagged", "tag", None, name, 1))
            for c in t.comments:
                kind = "public" if c.public else "internal"
                at = dt(c.created_at)
                if c.author_kind == "agent":
                    agent = look.agent(c.author_email, c.author_name)
                    body = c.body
                    if agent is None:
                        self.totals.unmatched_agents += 1
                        unknown = " ".join(
                            p for p in (c.author_name, f"<{c.author_email}>" if c.author_email else None) if p
                        )
                        body = f"(from {unknown or 'an unknown agent'})\n\n{c.body}"
                    author = agent[0] if agent else me
                    comments.append((tid, kind, author, None, body, at))
                    events.append((tid, author, at, "commented", "comment", None, kind, 1))
                else:
                    body = c.body
                    if c.author_email:
                        who = customers.get(_customer_key(c.author_email, c.author_name))
                    else:
                        who = cust
                        if c.author_name and (t.customer_name or "") != c.author_name:
                            body = f"(from {c.author_name})\n\n{c.body}"
                    comments.append((tid, "public", None, who[0] if who else None, body, at))
                    events.append((tid, me, at, "commented", "comment", None, "public", 1))
            refs.append((self.source, t.external_id, tid, imported_at))

        suspended = suspend_fts_triggers(session, ("ticket", "comment")) if sqlite else {}
        first_comment = _max_id(session, "comment") + 1 if sqlite else 0
        bulk.insert(desk_table("ticket"), _TICKET_COLUMNS, tickets)
        bulk.insert(desk_table("ticket_tag"), _TAG_COLUMNS, tags)
        bulk.insert(desk_table("comment"), _COMMENT_COLUMNS, comments)
        bulk.insert(desk_table("event"), _EVENT_COLUMNS, events)
        bulk.insert(desk_table("import_ref"), _REF_COLUMNS, refs)
        if sqlite:
            resume_fts_triggers(session, suspended, {"ticket": ids[0], "comment": first_comment})
        self.totals.imported += len(todo)
        self.totals.comments += len(comments)

    def _keep_statistics(self, session: Session) -> None:
        """PostgreSQL: re-analyse import_ref each time this import has doubled it. With stale
        statistics (a few rows) the planner looks a batch's ids up by `source` alone and
        filters every row of that source: quadratic over a big import."""
        if session.connection().dialect.name != "postgresql":
            return
        if self.totals.imported >= max(BATCH, 2 * self.analyzed_at):
            session.execute(text("ANALYZE import_ref"))
            self.analyzed_at = self.totals.imported

    def _team_key(self, team_id: int | None) -> str | None:
        if team_id is None or self.look is None:
            return None
        return next((key for tid, key in self.look.teams.values() if tid == team_id), None)

    def _organisations(self, session: Session, names: set[str]) -> dict[str, int]:
        assert self.look is not None
        self.totals.organisations += _ids_by_name(session, desk_table("organisation"), names, self.look.orgs)
        return self.look.orgs

    def _customers(
        self, session: Session, todo: Sequence[ImportedTicket], org_ids: dict[str, int]
    ) -> dict[str, tuple[int, bool]]:
        """Every customer of the batch (requesters and customer comment authors), by
        `_customer_key`; missing ones are created."""
        look = self.look
        assert look is not None
        cust = desk_table("customer")
        wanted: dict[str, dict[str, Any]] = {}  # key -> row for a new customer
        for t in todo:
            people = [(t.customer_email, t.customer_name, t.customer_phone, t.organisation)]
            people += [
                (c.author_email, c.author_name, None, None)
                for c in t.comments
                if c.author_kind == "customer" and c.author_email
            ]
            for email, name, phone, org in people:
                if not email and not name:
                    continue
                key = _customer_key(email, name)
                if key not in wanted:
                    wanted[key] = {
                        "name": (name or (email or "").split("@")[0])[:200],
                        "email": email,
                        "phone": phone,
                        "organisation_id": org_ids.get(org) if org else None,
                        "created_at": self.now,
                        "vip": False,
                    }
                elif org and wanted[key]["organisation_id"] is None:  # the requester's organisation wins
                    wanted[key]["organisation_id"] = org_ids.get(org)
        found: dict[str, tuple[int, bool]] = {}
        emails = [k for k in wanted if "@" in k and k not in look.customers]
        for start in range(0, len(emails), CHUNK):
            chunk = emails[start : start + CHUNK]
            rows = session.execute(select(cust.c.email, cust.c.id, cust.c.vip).where(cust.c.email.in_(chunk))).all()
            look.customers.update({email: (cid, bool(vip)) for email, cid, vip in rows})
        if any("@" not in k for k in wanted) and look.customers_by_name is None:
            rows = session.execute(
                select(cust.c.name, cust.c.id, cust.c.vip).where(cust.c.email.is_(None)).order_by(cust.c.id.desc())
            ).all()
            look.customers_by_name = {name: (cid, bool(vip)) for name, cid, vip in rows}  # lowest id wins
        by_name = look.customers_by_name or {}
        new: list[tuple[str, dict[str, Any]]] = []
        for key, row in wanted.items():
            known = look.customers.get(key) if "@" in key else by_name.get(key[1:])
            if known is not None:
                found[key] = known
            else:
                new.append((key, row))
        if new:
            rows = session.execute(
                insert(cust).returning(cust.c.id, sort_by_parameter_order=True), [row for _, row in new]
            ).all()
            for (key, _), (cid,) in zip(new, rows, strict=True):
                found[key] = (cid, False)
                if "@" in key:
                    look.customers[key] = (cid, False)
                else:
                    by_name[key[1:]] = (cid, False)
            self.totals.customers += len(new)
        return found

    def _tags(self, session: Session, names: set[str]) -> dict[str, int]:
        assert self.look is not None
        _ids_by_name(session, desk_table("tag"), names, self.look.tags)
        return self.look.tags


def _customer_key(email: str | None, name: str | None) -> str:
    """Customers are one per email; without an email, one per name ("=" + name)."""
    return email if email else "=" + (name or "")


def _opt(bind: Callable[[datetime], Any], value: datetime | None) -> Any:
    return None if value is None else bind(value)


def _max_id(session: Session, table: str) -> int:
    return int(session.execute(select(func.max(desk_table(table).c.id))).scalar_one() or 0)


def _reserve_ids(session: Session, table: str, n: int) -> list[int]:
    """`n` ids for new rows: from the sequence on PostgreSQL (safe beside concurrent
    inserts); on SQLite the ones after the highest (the write transaction holds the lock)."""
    if session.connection().dialect.name == "postgresql":
        rows = session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": n}
        ).scalars()
        return sorted(int(i) for i in rows)
    first = _max_id(session, table) + 1
    return list(range(first, first + n))


def _numbers(session: Session, periods: Sequence[str]) -> list[str]:
    """One ticket number per entry of `periods` (in order), each month's counter bumped
    once by as many as it hands out."""
    wanted: dict[str, int] = defaultdict(int)
    for p in periods:
        wanted[p] += 1
    next_serial = {period: reserve_serials(session, period, k) for period, k in sorted(wanted.items())}
    out: list[str] = []
    for p in periods:
        out.append(numbering.format_number(p, next_serial[p]))
        next_serial[p] += 1
    return out


def after_load(session: Session, imported: int) -> None:
    """Fresh planner statistics after a big load (see DESIGN.md: a stale plan costs 100x)."""
    if imported < _ANALYZE_FROM:
        return
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA analysis_limit = 0")
    else:
        session.execute(text("ANALYZE"))


def _ids_by_name(session: Session, table: Table, names: set[str], known: dict[str, int]) -> int:
    """Fill `known` (name -> id) for `names` from a table with a unique `name`, creating the
    rows that are missing; returns how many were created."""
    missing = sorted(n for n in names if n not in known)
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        found = session.execute(select(table.c.name, table.c.id).where(table.c.name.in_(chunk)))
        known.update({name: row_id for name, row_id in found})
    missing = [n for n in missing if n not in known]
    if missing:
        rows = session.execute(insert(table).returning(table.c.name, table.c.id), [{"name": n} for n in missing])
        known.update({name: row_id for name, row_id in rows})
    return len(missing)
