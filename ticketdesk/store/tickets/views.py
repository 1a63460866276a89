"""Saved views: an agent's own named queue filters, in the query language of rules/query.py.

Each agent sees only their own views. The query is checked when it is saved and kept as
typed, so `assignee:me` means whoever uses the view.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, SavedView
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import text
from ticketdesk.rules.query import parse_query, parse_sort
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.readmodels import SavedViewInfo
from ticketdesk.store.tickets.lookups import id_of

NAME_MAX = 100
QUERY_MAX = 2000


def list_views(session: Session, *, agent: Agent) -> list[SavedViewInfo]:
    rows = session.scalars(
        select(SavedView)
        .where(col(SavedView.agent_id) == agent.id)
        .order_by(col(SavedView.position), col(SavedView.id))
    )
    return [_info(row) for row in rows]


def save_view(
    session: Session, *, agent: Agent, name: str, query: str, sort: str | None = None, now: datetime | None = None
) -> SavedViewInfo:
    """Save a view under `name`, replacing the agent's view of that name (any case) if there is one."""
    name = _valid_name(name)
    query = " ".join((query or "").split())
    try:
        text.validate_body(query, "query")
        if len(query) > QUERY_MAX:
            raise ValueError(f"query is {len(query)} characters long (at most {QUERY_MAX})")
        parse_query(query)
        sort_name = parse_sort(sort).name if sort and sort.strip() else None
    except ValueError as exc:  # QueryError is a ValueError
        raise InvalidInput(f"view {name!r}: {exc}") from None
    row = _lookup(session, agent, name)
    if row is None:
        last = session.scalar(select(func.max(col(SavedView.position))).where(col(SavedView.agent_id) == agent.id))
        row = SavedView(
            agent_id=id_of(agent),
            name=name,
            query=query,
            sort=sort_name,
            position=(last or 0) + 1,
            created_at=now or utcnow(),
        )
        session.add(row)
    else:
        row.name, row.query, row.sort = name, query, sort_name
    session.flush()
    return _info(row)


def delete_view(session: Session, *, agent: Agent, name: str) -> None:
    row = _lookup(session, agent, name)
    if row is None:
        known = ", ".join(repr(v.name) for v in list_views(session, agent=agent))
        raise NotFound(f"you have no saved view named {name!r}" + (f" (yours: {known})" if known else ""))
    session.delete(row)
    session.flush()


def _valid_name(value: str) -> str:
    try:
        name = " ".join(text.validate_line(value, "view name").split())
    except ValueError as exc:  # a tab, a line break, an ESC…: refused, naming the field
        raise InvalidInput(str(exc)) from None
    if not name:
        raise InvalidInput("view name must not be empty")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"view name is {len(name)} characters long (at most {NAME_MAX})")
    return name


def _lookup(session: Session, agent: Agent, name: str) -> SavedView | None:
    """The agent's view of that name, ignoring case (compared in Python: SQLite's lower()
    only folds ASCII). An agent has a handful of views, so loading them all is cheap."""
    key = " ".join((name or "").split()).casefold()
    rows = session.scalars(select(SavedView).where(col(SavedView.agent_id) == agent.id))
    return next((row for row in rows if row.name.casefold() == key), None)


def _info(row: SavedView) -> SavedViewInfo:
    return SavedViewInfo(
        name=row.name, query=row.query, sort=row.sort, position=row.position, created_at=row.created_at
    )
