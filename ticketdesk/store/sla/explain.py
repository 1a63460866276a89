"""The facts `ticketdesk sla explain` needs about one ticket (rules/sla_explain.py explains
them): its clock fields, team, the customer's tier, and the events that move a clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Customer, Event, Priority, Status, Team, Ticket
from ticketdesk.rules.sla_explain import HISTORY_FIELDS, HistoryEvent, SlaExplanation, SlaFacts, explain
from ticketdesk.store.db.errors import NotFound
from ticketdesk.store.sla.clocks import policy


def sla_explanation(session: Session, number: str, now: datetime) -> SlaExplanation:
    ticket = session.scalars(select(Ticket).where(col(Ticket.number) == number.strip())).one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {number.strip()} not found")
    team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id is not None else None
    rows = session.execute(
        select(col(Event.at), col(Agent.login), col(Event.field), col(Event.old), col(Event.new))
        .join(Agent, col(Agent.id) == col(Event.actor_id), isouter=True)
        .where(col(Event.ticket_id) == ticket.id, col(Event.field).in_(HISTORY_FIELDS))
        .order_by(col(Event.id))
    )
    facts = SlaFacts(
        number=ticket.number,
        created_at=ticket.created_at,
        status=Status(ticket.status),
        priority=Priority(ticket.priority),
        team=team.key if team else None,
        vip=bool(customer and customer.vip),
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        first_responded_at=ticket.first_responded_at,
        resolved_at=ticket.resolved_at,
        history=[HistoryEvent(at, login, field, old, new) for at, login, field, old, new in rows],
    )
    return explain(policy(session), facts, now)
