"""The event rows of a ticket change: one per changed field, written with the change, all
carrying the ticket's version after it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from ticketdesk.models import Agent, Event, Ticket
from ticketdesk.store.tickets.rows import Change


def event_rows(ticket: Ticket, actor: Agent, at: datetime, changes: Iterable[Change]) -> list[dict]:
    return [
        {
            "ticket_id": ticket.id,
            "actor_id": actor.id,
            "at": at,
            "kind": c.kind.value,
            "field": c.field,
            "old": c.old,
            "new": c.new,
            "ticket_version": ticket.version,
        }
        for c in changes
    ]


def write_events(session: Session, rows: list[dict]) -> None:
    if rows:
        session.connection().execute(Event.__table__.insert(), rows)  # type: ignore[attr-defined]  # Core executemany


def event_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
