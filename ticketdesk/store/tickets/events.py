"""The event rows of a ticket change: one per changed field, written with the change, all
carrying the ticket's version after it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypedDict

from sqlalchemy import insert
from sqlmodel import Session

from ticketdesk.models import Agent, Event, Ticket
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


def write_events(session: Session, rows: Sequence[EventRow]) -> None:
    if rows:
        session.connection().execute(insert(Event), rows)  # Core executemany


def event_value(value: object) -> str | None:
    """An old or new value as an event records it: datetimes in ISO 8601, the rest as text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
