"""The queue's pages: keyset pagination over any sort (never OFFSET), and the queue rows
(`TicketRow`) of a page, with their tags and SLA state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Row,
    Select,
    UnaryExpression,
    and_,
    func,
    inspect,
    literal,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from ticketdesk.models import Agent, Customer, Tag, Team, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import sla
from ticketdesk.rules.query import Sort, SortKey, TicketFilter, parse_sort
from ticketdesk.store.db import settings
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.in_list import any_of
from ticketdesk.store.readmodels import Page, TicketRow
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.filters import T, filter_conditions

MAX_PAGE = 1000


def _keyset_branches(keys: Sequence[SortKey], after: Sequence[object]) -> list[ColumnElement[bool]]:
    """Predicates, one per branch, that together select the rows strictly after `after`.

    Runs of keys with the same direction become one row-value comparison, so every branch is
    a plain index range: (p = :p AND (u, id) < (:u, :id)) UNION ALL (p > :p).
    """
    groups: list[list[int]] = []
    for i, key in enumerate(keys):
        if groups and keys[groups[-1][0]].descending == key.descending:
            groups[-1].append(i)
        else:
            groups.append([i])
    branches: list[ColumnElement[bool]] = []
    for g, group in enumerate(groups):
        equal = [T.c[keys[i].column] == after[i] for grp in groups[:g] for i in grp]
        cols = [T.c[keys[i].column] for i in group]
        vals = [after[i] for i in group]
        if len(cols) == 1:
            step = cols[0] < vals[0] if keys[group[0]].descending else cols[0] > vals[0]
        else:
            left, right = tuple_(*cols), tuple_(*[literal(v, type_=c.type) for c, v in zip(cols, vals, strict=True)])
            step = left < right if keys[group[0]].descending else left > right
        branches.append(and_(*equal, step))
    return branches


def _order_by(keys: Sequence[SortKey], table: FromClause) -> list[UnaryExpression[Any]]:
    return [table.c[k.column].desc() if k.descending else table.c[k.column].asc() for k in keys]


def page_keys(
    *,
    conditions: Sequence[ColumnElement[bool]],
    sort: Sort,
    after: Sequence[object] | None,
    limit: int,
    alternatives: Sequence[ColumnElement[bool]] = (),
) -> Select[Any]:
    """The sort-key columns (the id among them) of the next `limit` rows, by keyset: never OFFSET.

    `alternatives` (e.g. one `status = x` per wanted status) and the keyset steps become
    separate branches of a UNION ALL, each a single index range read in index order, and
    only the few rows they return get merged; an IN list or an OR would make the database
    sort every matching row instead.
    """
    key_cols = [T.c[k.column] for k in sort.keys]
    steps: list[ColumnElement[bool] | None] = list(_keyset_branches(sort.keys, after)) if after else [None]
    choices: list[ColumnElement[bool] | None] = list(alternatives) or [None]
    branches = [[c for c in (*conditions, choice, step) if c is not None] for choice in choices for step in steps]
    parts = [select(*key_cols).where(*where).order_by(*_order_by(sort.keys, T)).limit(limit) for where in branches]
    if len(parts) == 1:
        return parts[0]
    # SQLite refuses ORDER BY/LIMIT inside a compound select unless each part is a subquery.
    combined = union_all(*[select(*p.subquery().c) for p in parts]).subquery()
    return select(combined).order_by(*_order_by(sort.keys, combined)).limit(limit)


def list_tickets(
    session: Session,
    *,
    flt: TicketFilter,
    actor_id: int | None,
    sort: Sort | None = None,
    after: Sequence[object] | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    """One page of the queue. The page itself is one statement: the page's keys, its rows
    with their tags, and the SLA policy the rows are judged by (round trips are most of a
    page's cost on PostgreSQL). Names in the filter (teams, tags, logins) are looked up
    first, and a search asks how common its word is."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    sort = sort or parse_sort(None)
    if after is not None and len(after) != len(sort.keys):
        raise InvalidInput("page cursor does not match the sort")
    alternatives: list[ColumnElement[bool]] = []
    if len(flt.statuses) > 1:
        alternatives = [T.c.status == s.value for s in flt.statuses]
        flt = replace(flt, statuses=())
    conditions = filter_conditions(session, flt, actor_id=actor_id, now=now)
    keys = page_keys(
        conditions=conditions, sort=sort, after=after, limit=limit + 1, alternatives=alternatives
    ).subquery("page")
    cursor = [keys.c[k.column].label(f"cursor_{i}") for i, k in enumerate(sort.keys)]
    stmt = _rows_select(T.join(keys, keys.c.id == T.c.id)).add_columns(*cursor).order_by(*_order_by(sort.keys, keys))
    rows = session.execute(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_after = tuple(rows[-1]._mapping[c.name] for c in cursor) if has_more and rows else None
    return Page(rows=_ticket_rows(session, rows, now=now), next_after=next_after)


_assignee = aliased(Agent)
# its column collection is built lazily; build it now, in the importing thread, so that no
# two threads build it at once (SQLAlchemy's own aliased-class pools do the same)
inspect(_assignee).selectable.c  # noqa: B018

#: between a row's tag names in its `tags` column (a control character: no tag has one)
_TAG_SEPARATOR = "\x1f"


def _rows_select(tickets: FromClause) -> Select[Any]:
    """The queue-row columns of the tickets in `tickets` (the ticket table, or it joined with
    the page's keys), each row's tags as one string, and the SLA policy document."""
    tags = (
        select(func.aggregate_strings(col(Tag.name), _TAG_SEPARATOR))
        .select_from(TicketTag)
        .join(Tag, col(Tag.id) == col(TicketTag.tag_id))
        .where(col(TicketTag.ticket_id) == T.c.id)
        .scalar_subquery()
    )
    return (
        select(
            T.c.id,
            T.c.number,
            T.c.subject,
            T.c.status,
            T.c.priority,
            T.c.type,
            T.c.channel,
            col(Team.key).label("team"),
            col(_assignee.login).label("assignee"),
            col(Customer.name).label("customer"),
            col(Customer.email).label("customer_email"),
            T.c.created_at,
            T.c.updated_at,
            T.c.first_response_due,
            T.c.resolution_due,
            T.c.first_responded_at,
            T.c.resolved_at,
            T.c.sla_paused_at,
            T.c.version,
            tags.label("tags"),
            settings.document_text(sla_clocks.KEY).label("sla_policy"),
        )
        .select_from(tickets)
        .join(Team, col(Team.id) == T.c.team_id, isouter=True)
        .join(_assignee, col(_assignee.id) == T.c.assignee_id, isouter=True)
        .join(Customer, col(Customer.id) == T.c.customer_id, isouter=True)
    )


def rows_by_id(session: Session, ids: Sequence[int], *, now: datetime | None = None) -> list[TicketRow]:
    """Full queue rows for the given ids, in the given order (one statement)."""
    if not ids:
        return []
    by_id = {r.id: r for r in session.execute(_rows_select(T).where(any_of(session, T.c.id, ids)))}
    return _ticket_rows(session, [by_id[i] for i in ids if i in by_id], now=now)


def _ticket_rows(session: Session, rows: Sequence[Row[Any]], *, now: datetime | None) -> list[TicketRow]:
    if not rows:
        return []
    now = now or utcnow()
    lead = sla_clocks.warning_lead_from(session, rows[0].sla_policy)
    return [
        TicketRow(
            id=r.id,
            number=r.number,
            subject=r.subject,
            status=r.status,
            priority=r.priority,
            type=r.type,
            channel=r.channel,
            team=r.team,
            assignee=r.assignee,
            customer=r.customer,
            customer_email=r.customer_email,
            tags=tuple(sorted(r.tags.split(_TAG_SEPARATOR))) if r.tags else (),
            created_at=r.created_at,
            updated_at=r.updated_at,
            first_response_due=r.first_response_due,
            resolution_due=r.resolution_due,
            first_responded_at=r.first_responded_at,
            resolved_at=r.resolved_at,
            sla_state=sla_state_of(r, now, lead),
            version=r.version,
            sla_paused_at=r.sla_paused_at,
        )
        for r in rows
    ]


class SlaClocks(Protocol):
    """What the SLA state of a ticket is judged on: a ticket, a queue row, a row of a report."""

    @property
    def first_response_due(self) -> datetime | None: ...
    @property
    def first_responded_at(self) -> datetime | None: ...
    @property
    def resolution_due(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def sla_paused_at(self) -> datetime | None: ...


def sla_state_of(r: SlaClocks, now: datetime, warning: timedelta = sla.DEFAULT_WARNING) -> str | None:
    """The SLA state's value (`rules.sla.sla_state`), or None when no clock applies."""
    paused_at = r.sla_paused_at  # judged as of the pause, no warning while it stands still
    state = sla.sla_state(
        now=paused_at if paused_at is not None else now,
        first_response_due=r.first_response_due,
        first_responded_at=r.first_responded_at,
        resolution_due=r.resolution_due,
        resolved_at=r.resolved_at,
        warning=timedelta(0) if paused_at is not None else warning,
    )
    return state.value if state else None
