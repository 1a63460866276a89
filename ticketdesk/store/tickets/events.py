"""The event rows of a ticket change: one per changed field, written with the change, all
carrying the ticket's version after it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypedDict

from sqlalchemy import insert, select
from sqlmodel import Session

from ticketdesk.models import Agent, Event, Ticket
from ticketdesk.store.db.in_list import is_postgres, rows_table
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.tickets.lookups import id_of
from ticketdesk.store.tickets.rows import Change


class EventRow(TypedDict):
    """The columns of one `event` row, for a Core executemany."""

    ticket_id: int
    actor_id: int | None
    at: datetime
    kind: str
    field: str | None
    old: str | None
    new: str | None
    ticket_version: int


def event_rows(ticket: Ticket, actor: Agent, at: datetime, changes: Iterable[Change]) -> list[EventRow]:
    return [
        EventRow(
            ticket_id=id_of(ticket),
            actor_id=actor.id,
            at=at,
            kind=c.kind.value,
            field=c.field,
            old=c.old,
            new=c.new,
            ticket_version=ticket.version,
        )
        for c in changes
    ]


_EVENT = table_of(Event)


def write_events(session: Session, rows: Sequence[EventRow]) -> None:
    """One statement on PostgreSQL (`INSERT ... SELECT` from an array per column; an
    executemany sends one a row), a Core executemany on SQLite (a loop in C there)."""
    if not rows:
        return
    if is_postgres(session):
        types = {name: _EVENT.c[name].type for name in EventRow.__annotations__}
        given = rows_table("given", types, rows)
        session.connection().execute(insert(_EVENT).from_select(list(types), select(*given.c)))
    else:
        session.connection().execute(insert(Event), rows)


def event_value(value: object) -> str | None:
    """An old or new value as an event records it: datetimes in ISO 8601, the rest as text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
