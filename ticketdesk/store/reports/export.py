"""Streaming export of tickets: one query in id order, read in batches (`yield_per`: a
server-side cursor on PostgreSQL, SQLite's own cursor) inside one read transaction, so a
million tickets never sit in memory at once (one batch of rows plus their tags at a time).

One query rather than keyset pages: with a selective filter the database may read the
matching rows by a filter index and sort them by id, and each keyset page would redo that
for every row after it (quadratic); one pass does it once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, String, func, inspect, select, type_coerce
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import Session, col

from ticketdesk.models import Agent, Customer, Organisation, Team, TimeEntry
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.filters import T, filter_conditions
from ticketdesk.store.tickets.pages import sla_state_of
from ticketdesk.store.tickets.tags import tags_by_ticket

#: Columns of an export, in order (the names of the model fields where there is one).
EXPORT_COLUMNS: tuple[str, ...] = (
    "number",
    "subject",
    "status",
    "priority",
    "type",
    "category",
    "channel",
    "support_level",
    "team",
    "assignee",
    "customer",
    "customer_email",
    "customer_phone",
    "organisation",
    "tags",
    "created_at",
    "updated_at",
    "first_response_due",
    "first_responded_at",
    "resolution_due",
    "resolved_at",
    "closed_at",
    "reopen_count",
    "time_spent_minutes",
    "sla_state",
)
DATETIME_COLUMNS: frozenset[str] = frozenset(
    {"created_at", "updated_at", "first_response_due", "first_responded_at"}
    | {"resolution_due", "resolved_at", "closed_at"}
)
PAGE = 2000
MAX_PAGE = 10_000

_assignee = aliased(Agent)
# its column collection is built lazily; build it now, in the importing thread, so that no
# two threads build it at once (SQLAlchemy's own aliased-class pools do the same)
inspect(_assignee).selectable.c  # noqa: B018


def export_rows(
    session: Session, *, flt: TicketFilter, actor_id: int | None, now: datetime, page_size: int = PAGE
) -> Iterator[dict[str, Any]]:
    """Every ticket the filter matches, oldest id first, as flat dicts of EXPORT_COLUMNS
    (datetimes aware UTC, tags a list), fetched `page_size` rows at a time."""
    if not 1 <= page_size <= MAX_PAGE:
        raise InvalidInput(f"page size must be between 1 and {MAX_PAGE}")
    conditions = filter_conditions(session, flt, actor_id=actor_id, now=now)
    lead = sla_clocks.warning_lead(session)
    sqlite = session.get_bind().dialect.name == "sqlite"
    columns: dict[str, ColumnElement[Any] | Mapped[Any]] = {
        "number": T.c.number,
        "subject": T.c.subject,
        "status": T.c.status,
        "priority": T.c.priority,
        "type": T.c.type,
        "category": T.c.category,
        "channel": T.c.channel,
        "support_level": T.c.support_level,
        "team": col(Team.key),
        "assignee": col(_assignee.login),
        "customer": col(Customer.name),
        "customer_email": col(Customer.email),
        "customer_phone": col(Customer.phone),
        "organisation": col(Organisation.name),
        **{name: T.c[name] for name in _TIMES},
        "reopen_count": T.c.reopen_count,
        # minutes logged on it (store/tickets/time_log.py): by the ticket_id index, 0 without any
        "time_spent_minutes": select(func.coalesce(func.sum(col(TimeEntry.minutes)), 0))
        .where(col(TimeEntry.ticket_id) == T.c.id)
        .scalar_subquery(),
    }
    if sqlite:
        # Hot path: SQLite keeps UTC text; one C-level fromisoformat beats the generic
        # DateTime result processor and the aware-UTC decorator on a million rows.
        columns.update({name: type_coerce(T.c[name], String) for name in _TIMES})
    paused_column = type_coerce(T.c.sla_paused_at, String) if sqlite else T.c.sla_paused_at
    names = list(columns)
    times = [names.index(name) for name in _TIMES]
    stmt = (
        select(*(c.label(name) for name, c in columns.items()), T.c.id, paused_column)
        .select_from(T)
        .join(Team, col(Team.id) == T.c.team_id, isouter=True)
        .join(_assignee, col(_assignee.id) == T.c.assignee_id, isouter=True)
        .join(Customer, col(Customer.id) == T.c.customer_id, isouter=True)
        .join(Organisation, col(Organisation.id) == Customer.organisation_id, isouter=True)
        .where(*conditions)
        .order_by(T.c.id)
        .execution_options(yield_per=page_size)
    )
    n = len(names)
    due_1, met_1, due_2, met_2 = (
        names.index(c) for c in ("first_response_due", "first_responded_at", "resolution_due", "resolved_at")
    )
    assert [*names[:14], "tags", *names[14:], "sla_state"] == list(EXPORT_COLUMNS)
    for rows in session.execute(stmt).partitions():
        tags = tags_by_ticket(session, [r[n] for r in rows])
        for r in rows:
            values = list(r[:n])
            paused = r[n + 1]
            if sqlite:
                for i in times:
                    if values[i] is not None:
                        values[i] = _utc(values[i])
                paused = _utc(paused) if paused is not None else None
            clocks = _Clocks(values[due_1], values[met_1], values[due_2], values[met_2], paused)
            tags_of = sorted(tags.get(r[n], ()))
            state = sla_state_of(clocks, now, lead)
            yield dict(zip(EXPORT_COLUMNS, (*values[:14], tags_of, *values[14:], state), strict=True))


_TIMES = (
    "created_at",
    "updated_at",
    "first_response_due",
    "first_responded_at",
    "resolution_due",
    "resolved_at",
    "closed_at",
)


class _Clocks(NamedTuple):
    first_response_due: datetime | None
    first_responded_at: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    sla_paused_at: datetime | None


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")
