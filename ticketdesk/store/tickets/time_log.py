"""Time spent: an agent logs minutes on a ticket (an entry and an event, with the ticket's
version bumped like any change); the total shows on the ticket, and a report sums it by
agent, team or ticket type over a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Team, Ticket, TimeEntry
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.durations import format_minutes
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.tickets.events import event_rows, write_events
from ticketdesk.store.tickets.lookups import id_of, load_tickets
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.saving import save_tickets

#: what a report may group by
BY = ("agent", "team", "type")


@dataclass(frozen=True)
class TimeTotal:
    key: str
    minutes: int
    entries: int
    tickets: int

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "minutes": self.minutes, "entries": self.entries, "tickets": self.tickets}


def log_time(
    session: Session, *, actor: Agent, number: str, minutes: int, note: str | None, now: datetime | None = None
) -> int:
    """Log `minutes` on the ticket; the ticket's total after it."""
    now = now or utcnow()
    (ticket,) = load_tickets(session, [number])
    assert actor.id is not None
    note = (note or "").strip() or None
    session.add(TimeEntry(ticket_id=id_of(ticket), agent_id=actor.id, minutes=minutes, note=note, logged_at=now))
    ticket.updated_at = now
    save_tickets(session, [ticket])
    said = format_minutes(minutes) + (f": {note}" if note else "")
    write_events(session, event_rows(ticket, actor, now, [Change("time", None, said)]))
    return time_spent(session, id_of(ticket))


def time_spent(session: Session, ticket_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(col(TimeEntry.minutes)), 0)).where(col(TimeEntry.ticket_id) == ticket_id)
    )
    return int(total or 0)


def time_report(session: Session, *, by: str, since: datetime | None, until: datetime | None) -> list[TimeTotal]:
    """Minutes logged from `since` to `until`, by agent login, team key or ticket type, the
    largest first."""
    if by not in BY:
        raise InvalidInput(f"--by: expected one of {', '.join(BY)}, got {by!r}")
    key = {"agent": col(Agent.login), "team": func.coalesce(col(Team.key), "(no team)"), "type": col(Ticket.type)}[by]
    stmt = (
        select(key, func.sum(col(TimeEntry.minutes)), func.count(), func.count(func.distinct(col(TimeEntry.ticket_id))))
        .select_from(TimeEntry)
        .join(Ticket, col(Ticket.id) == col(TimeEntry.ticket_id))
        .join(Agent, col(Agent.id) == col(TimeEntry.agent_id))
        .join(Team, col(Team.id) == col(Ticket.team_id), isouter=True)
        .group_by(key)
        .order_by(func.sum(col(TimeEntry.minutes)).desc(), key)
    )
    if since is not None:
        stmt = stmt.where(col(TimeEntry.logged_at) >= since)
    if until is not None:
        stmt = stmt.where(col(TimeEntry.logged_at) < until)
    return [TimeTotal(str(k), int(m), int(e), int(t)) for k, m, e, t in session.execute(stmt)]
