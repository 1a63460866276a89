"""How many tickets a filter matches and which; the counts by status, priority and team; the
change marker the front ends poll."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from ticketdesk.models import Event, Team
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store.readmodels import StatusPriorityTeamCount
from ticketdesk.store.tickets.filters import T, count_statement, filter_conditions


def count_tickets(session: Session, *, flt: TicketFilter, actor_id: int | None) -> int:
    return session.scalars(count_statement(session, flt, actor_id=actor_id)).one()


def counts_by_status_priority_team(session: Session) -> list[StatusPriorityTeamCount]:
    """Grouped in the order of the team queue index (a covering index scan, no sort, no join);
    team keys are mapped afterwards."""
    teams: dict[int, str] = {team_id: key for team_id, key in session.execute(select(col(Team.id), col(Team.key)))}
    stmt = select(T.c.team_id, T.c.status, T.c.priority, func.count()).group_by(T.c.team_id, T.c.status, T.c.priority)
    return [
        StatusPriorityTeamCount(status=s, priority=p, team=teams.get(t) if t is not None else None, count=n)
        for t, s, p, n in session.execute(stmt)
    ]


def matching_numbers(session: Session, *, flt: TicketFilter, actor_id: int | None, limit: int) -> list[str]:
    conditions = filter_conditions(session, flt, actor_id=actor_id)
    return list(session.scalars(select(T.c.number).where(*conditions).limit(limit)))


def latest_event_id(session: Session) -> int:
    """A cheap change marker: grows with every change to any ticket."""
    return session.scalar(select(func.max(col(Event.id)))) or 0
