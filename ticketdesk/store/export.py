"""Streaming export of tickets: one query in id order, read in batches (`yield_per`: a
server-side cursor on PostgreSQL, SQLite's own cursor) inside one read transaction, so a
million tickets never sit in memory at once (one batch of rows plus their tags at a time).

One query rather than keyset pages: with a selective filter the database may read the
matching rows by a filter index and sort them by id, and each keyset page would redo that
for every row after it (quadratic); one pass does it once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from ticketdesk.models import Agent, Customer, Organisation, Team
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import sla as sla_clocks
from ticketdesk.store.errors import InvalidInput
from ticketdesk.store.queries import T, _sla_state, filter_conditions, tags_by_ticket

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
    "sla_state",
)
DATETIME_COLUMNS: frozenset[str] = frozenset(
    {"created_at", "updated_at", "first_response_due", "first_responded_at"}
    | {"resolution_due", "resolved_at", "closed_at"}
)
PAGE = 2000
MAX_PAGE = 10_000

_assignee = aliased(Agent)


def export_rows(
    session: Session, *, flt: TicketFilter, actor_id: int | None, now: datetime, page_size: int = PAGE
) -> Iterator[dict[str, Any]]:
    """Every ticket the filter matches, oldest id first, as flat dicts of EXPORT_COLUMNS
    (datetimes aware UTC, tags a list), fetched `page_size` rows at a time."""
    if not 1 <= page_size <= MAX_PAGE:
        raise InvalidInput(f"page size must be between 1 and {MAX_PAGE}")
    conditions = filter_conditions(session, flt, actor_id=actor_id, now=now)
    lead = sla_clocks.warning_lead(session)
    base = (
        select(
            T.c.id,
            T.c.number,
            T.c.subject,
            T.c.status,
            T.c.priority,
            T.c.type,
            T.c.category,
            T.c.channel,
            T.c.support_level,
            Team.key.label("team"),  # type: ignore[attr-defined]
            _assignee.login.label("assignee"),
            Customer.name.label("customer"),  # type: ignore[attr-defined]
            Customer.email.label("customer_email"),  # type: ignore[union-attr]
            Customer.phone.label("customer_phone"),  # type: ignore[union-attr]
            Organisation.name.label("organisation"),  # type: ignore[attr-defined]
            T.c.created_at,
            T.c.updated_at,
            T.c.first_response_due,
            T.c.first_responded_at,
            T.c.resolution_due,
            T.c.resolved_at,
            T.c.closed_at,
            T.c.reopen_count,
            T.c.sla_paused_at,
        )
        .select_from(T)
        .join(Team, Team.id == T.c.team_id, isouter=True)  # type: ignore[arg-type]
        .join(_assignee, _assignee.id == T.c.assignee_id, isouter=True)
        .join(Customer, Customer.id == T.c.customer_id, isouter=True)  # type: ignore[arg-type]
        .join(Organisation, Organisation.id == Customer.organisation_id, isouter=True)  # type: ignore[arg-type]
        .order_by(T.c.id)
    )
    stmt = base.where(*conditions).execution_options(yield_per=page_size)
    for rows in session.execute(stmt).partitions():
        tags = tags_by_ticket(session, [r.id for r in rows])
        for r in rows:
            data = {name: getattr(r, name) for name in EXPORT_COLUMNS if name not in ("tags", "sla_state")}
            data["tags"] = sorted(tags.get(r.id, ()))
            data["sla_state"] = _sla_state(r, now, lead)
            yield {name: data[name] for name in EXPORT_COLUMNS}
